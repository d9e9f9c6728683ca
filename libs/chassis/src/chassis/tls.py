"""TLS for calls between services: TLS 1.3 with client certificates from the platform's CA.

The contexts are built when a process starts and built anew when the certificate files
change (`mosaic admin rotate-certs`, a renewed Kubernetes secret, a CA added to or taken
out of the bundle): new handshakes use the new certificate and trust exactly the new
bundle, connections already open carry on, nothing restarts.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path

from chassis.rotation import Stamp, file_stamp

TRUST_DOMAIN = "mosaic.local"


def spiffe_id(service: str, trust_domain: str = TRUST_DOMAIN) -> str:
    return f"spiffe://{trust_domain}/{service}"


def server_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """Accept only TLS 1.3 clients presenting a certificate signed by our CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=str(ca))
    context.load_cert_chain(str(cert), str(key))
    context.set_alpn_protocols(["http/1.1"])
    return context


def client_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """Present our certificate; trust only servers signed by our CA, for the host we dialled."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(cafile=str(ca))
    context.load_cert_chain(str(cert), str(key))
    context.set_alpn_protocols(["http/1.1"])
    return context


def peer_identity(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """The SPIFFE ID (URI SAN) of a verified peer certificate, or None."""
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    if not cert:
        return None
    for entry in cert.get("subjectAltName", ()):
        if len(entry) == 2 and entry[0] == "URI" and str(entry[1]).startswith("spiffe://"):
            return str(entry[1])
    return None


class ReloadingContexts:
    """The server and client contexts of one process, replaced when their files change.

    Replaced, not reloaded in place: OpenSSL's `load_verify_locations` only ever adds to a
    context's trust store, so a CA taken out of the bundle would stay trusted until the
    process restarted. A server's listening socket keeps the context it was given, so
    `server` is a front whose SNI callback (run for every handshake, SNI sent or not)
    hands the connection to the current context: its certificate and its CAs. A client
    looks `client` up per call, so new connections take the new one.
    """

    def __init__(self, cert: Path, key: Path, ca: Path) -> None:
        self.cert, self.key, self.ca = cert, key, ca
        self._current = server_context(cert, key, ca)
        self.server = server_context(cert, key, ca)
        self.server.sni_callback = self._hand_over
        self.client = client_context(cert, key, ca)
        self._stamp = self._current_stamp()

    def _hand_over(self, connection: ssl.SSLObject, _name: str | None, _ctx: object) -> None:
        connection.context = self._current

    def _current_stamp(self) -> tuple[Stamp, ...]:
        return tuple(file_stamp(path) for path in (self.cert, self.key, self.ca))

    def reload_if_changed(self) -> bool:
        """Build new contexts from the files; True when something changed.

        The issuer replaces certificate and key with two atomic renames, so a poll can
        catch one new file and one old. Such a pair fails to load (OpenSSL checks that the
        key matches), so the files are first copied to a private folder and loaded from
        there as one snapshot; only complete contexts replace the live ones, else the next
        poll tries again. Connections already open keep the context they began with.
        """
        try:
            stamp = self._current_stamp()
        except FileNotFoundError:
            return False
        if stamp == self._stamp:
            return False
        with tempfile.TemporaryDirectory(prefix="mosaic-tls-") as folder:
            cert, key, ca = (Path(folder) / name for name in ("cert.pem", "key.pem", "ca.pem"))
            for source, copy in ((self.cert, cert), (self.key, key), (self.ca, ca)):
                shutil.copyfile(source, copy)
            server, client = server_context(cert, key, ca), client_context(cert, key, ca)
        self._current, self.client = server, client
        self._stamp = stamp
        return True
