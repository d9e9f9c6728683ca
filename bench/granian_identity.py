"""Does granian tell the app which client certificate a caller presented? (It must, for mTLS.)

Run: .venv/bin/python bench/granian_identity.py

Makes a throwaway PKI (bench/hop_callees.make_pki), starts granian on 127.0.0.1 with TLS and
client-certificate verification (--ssl-ca, --ssl-client-verify) in front of a tiny ASGI app
that answers with its scope's `extensions` and `scheme`, calls it once with the caller's
certificate, and prints what the app saw. The chassis's callee checks that a service token's
issuer is the service named in the client certificate; that needs the verified identity
in the scope, as the chassis's uvicorn protocol puts it (`extensions["tls"]`).
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from hop_callees import make_pki
from mosaic.ports import free_port

APP = """
import json


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    seen = {"extensions": scope.get("extensions"), "scheme": scope.get("scheme")}
    body = json.dumps(seen, default=repr).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
"""


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="granian-identity-") as tmp:
        folder = Path(tmp)
        pki = make_pki(folder)
        (folder / "scope_app.py").write_text(APP)
        port = free_port()
        granian = Path(sys.executable).parent / "granian"
        server = subprocess.Popen(
            [
                str(granian),
                "--interface=asgi",
                "--host=127.0.0.1",
                f"--port={port}",
                f"--ssl-certificate={pki.server_cert}",
                f"--ssl-keyfile={pki.server_key}",
                f"--ssl-ca={pki.ca}",
                "--ssl-client-verify",
                "scope_app:app",
            ],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            context = ssl.create_default_context(cafile=str(pki.ca))
            context.check_hostname = False
            context.load_cert_chain(pki.client_cert, pki.client_key)
            deadline = time.monotonic() + 60
            while True:
                try:
                    url = f"https://127.0.0.1:{port}/"
                    with urllib.request.urlopen(url, context=context, timeout=5) as answer:
                        seen = json.loads(answer.read())
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("granian did not answer within 60 s") from None
                    time.sleep(0.5)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps(seen, indent=2))
    tls = (seen.get("extensions") or {}).get("tls")
    if tls:
        print("granian passes TLS details to the app:", tls)
    else:
        print("granian verified the client certificate but did not tell the app whose it was.")


if __name__ == "__main__":
    main()
