"""TLS for calls between services: TLS 1.3 with client certificates from the platform's CA.

The contexts are built once per process and reloaded in place when the certificate files
change (`mosaic admin rotate-certs`, or a renewed Kubernetes secret): new handshakes use
the new certificate, connections already open carry on, nothing restarts.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path

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
    """The server and client contexts of one process, reloaded when their files change."""

    def __init__(self, cert: Path, key: Path, ca: Path) -> None:
        self.cert, self.key, self.ca = cert, key, ca
        self.server = server_context(cert, key, ca)
        self.client = client_context(cert, key, ca)
        self._stamp = self._current_stamp()

    def _current_stamp(self) -> tuple[float, ...]:
        return tuple(path.stat().st_mtime for path in (self.cert, self.key, self.ca))

    def reload_if_changed(self) -> bool:
        """Load new files into the live contexts; True when something changed.

        The issuer replaces certificate and key with two atomic renames, so a poll can
        catch one new file and one old. Loading such a pair into a live context would leave
        it without a usable certificate (OpenSSL drops the certificate when the key does
        not match), so the files are first copied to a private folder and checked there as
        a pair; only a consistent snapshot reaches the live contexts, else the next poll
        tries again.
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
            server_context(cert, key, ca)  # raises on a mismatched pair: nothing is touched
            for context in (self.server, self.client):
                context.load_verify_locations(cafile=str(ca))
                context.load_cert_chain(str(cert), str(key))
        self._stamp = stamp
        return True
