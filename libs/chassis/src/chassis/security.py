"""Zero trust between services: who may call which route, checked on every request.

- `callers("frontend", ...)` declares a route's allowlist next to the route:
  `@router.get("/v1/products", dependencies=[callers("frontend")])`. `callers()` allows none.
- `Credentials` is the process's identity: its certificates (reloaded when rotated), its
  token signer and the trust store of other services' public keys. It is a resource, so
  its certificate files are watched while the app runs and `/readyz` fails when they are
  unusable.
- `route_policies(router)` lists the allowlists declared in code, for `mosaic admin policy`.

Refusals: 401 when the caller is not proven (no or bad token, token not bound to the
client certificate), 403 when it is proven but not on the route's list. Both are logged
with the caller and the route.

Long because a route's allowlist, its enforcement and the process identity it is checked
against are read together by whoever audits who may call what.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute, APIRouter
from starlette.routing import BaseRoute

from chassis.cloudrun import ID_TOKEN_HEADER, IdTokens, caller_email, service_account
from chassis.errors import Problem
from chassis.logs import get_logger
from chassis.rotation import file_stamp
from chassis.routes import api_routes
from chassis.settings import MESH_IDENTITY, ServiceSettings
from chassis.tls import ReloadingContexts, spiffe_id
from chassis.tokens import (
    TOKEN_HEADER,
    TokenRejected,
    TokenSigner,
    TokenVerifier,
    TrustStore,
    load_signing_key,
)
from chassis.tracing import set_caller

_log = get_logger("chassis.security")

Transport = Literal["mtls", "mesh", "cloudrun"]
XFCC_HEADER = "x-forwarded-client-cert"  # set by Istio/Envoy when a mesh terminates mTLS
RELOAD_EVERY = 2.0  # seconds between checks of the certificate and key files


class Credentials:
    """What a service process proves itself with, and whom it trusts."""

    name = "credentials"

    def __init__(
        self,
        service: str,
        *,
        transport: Transport,
        tls_files: tuple[Path, Path, Path] | None,
        signing_key: Path | None,
        trust_dir: Path | None,
        mesh_identity: str = MESH_IDENTITY,
        project: str | None = None,
        metadata_url: str | None = None,
    ) -> None:
        self.service = service
        self.transport = transport
        self.mesh_identity = mesh_identity  # a template: {service} is the caller
        self.project = project  # on Cloud Run: whose service accounts callers run as
        self.id_tokens: IdTokens | None = None
        if transport == "cloudrun" and metadata_url:  # every call carries a Google ID token too
            self.id_tokens = IdTokens(metadata_url)
        self.tls = ReloadingContexts(*tls_files) if tls_files else None
        self.signing_key = signing_key
        self.signer = TokenSigner(service, load_signing_key(signing_key)) if signing_key else None
        self._signing_stamp = file_stamp(signing_key) if signing_key else None
        self.trust = TrustStore(trust_dir) if trust_dir else None
        self.verifier = TokenVerifier(service, self.trust) if self.trust else None
        self._watch: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Credentials:
        tls = (settings.tls_cert_file, settings.tls_key_file, settings.tls_ca_file)
        return cls(
            settings.service_name,
            transport=settings.transport_security,
            tls_files=(tls[0], tls[1], tls[2]) if tls[0] and tls[1] and tls[2] else None,
            signing_key=settings.service_signing_key_file,
            trust_dir=settings.service_trust_dir,
            mesh_identity=settings.mesh_identity,
            project=settings.cloud_run_project,
            metadata_url=settings.metadata_server_url,
        )

    async def open(self) -> None:
        if self._watch is None and (self.tls or self.trust or self.signer):
            self._watch = asyncio.create_task(self._watch_files())

    async def ping(self) -> None:
        if self.tls is not None:
            self.tls.cert.stat()

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None

    async def _watch_files(self) -> None:
        while True:
            await asyncio.sleep(RELOAD_EVERY)
            try:
                if self.tls is not None and self.tls.reload_if_changed():
                    _log.info("certificate reloaded", cert=str(self.tls.cert))
                if self.trust is not None and self.trust.reload_if_changed():
                    _log.info("trusted keys reloaded", services=sorted(self.trust.services))
                self._reload_signing_key()
            except Exception as error:  # a half-rotated pair: the next round will succeed
                _log.warning("credentials not reloaded yet", error=str(error))

    def _reload_signing_key(self) -> None:
        if self.signing_key is None or self.signer is None:
            return
        stamp = file_stamp(self.signing_key)
        if stamp != self._signing_stamp:
            self.signer.replace_key(load_signing_key(self.signing_key))
            self._signing_stamp = stamp
            _log.info("signing key reloaded", key=str(self.signing_key))

    def token_for(self, audience: str) -> str | None:
        return self.signer.token_for(audience) if self.signer else None

    def headers_for(self, audience: str) -> dict[str, str]:
        """What a call to `audience` carries to prove who makes it: the service token and,
        behind a mesh, the identity header the mesh's sidecar sets. A real sidecar replaces
        or appends to ours (the callee reads the last element); under `mosaic up
        --transport mesh` there is no sidecar, and this stands in for it."""
        token = self.token_for(audience)
        headers = {TOKEN_HEADER: token} if token else {}
        if self.transport == "mesh":
            headers[XFCC_HEADER] = f'URI="{self.mesh_identity_of(self.service)}"'
        return headers

    def mesh_identity_of(self, service: str) -> str:
        """The URI the mesh asserts for `service`'s workloads (MESH_IDENTITY): ours,
        `spiffe://mosaic.local/<svc>`, or Istio's `spiffe://<trust domain>/ns/<ns>/sa/<sa>`."""
        return self.mesh_identity.format(service=service)


class CallerPolicy:
    """The services allowed to call one route; a FastAPI dependency returning the caller."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = frozenset(allowed)

    async def __call__(self, request: Request) -> str:
        credentials: Credentials | None = getattr(request.app.state, "credentials", None)
        route = getattr(request.scope.get("route"), "path", request.url.path)
        if credentials is None or credentials.verifier is None:
            # Misconfiguration, not the caller's fault: refuse, and say so in the log.
            _log.error("no trust store configured; refusing", route=route)
            raise Problem(503, "security-unconfigured", "This service cannot verify callers.")
        caller = self._authenticate(request, credentials, credentials.verifier, route)
        set_caller(caller)  # proven, so the request's span may name it
        if caller not in self.allowed:
            _log.warning("caller refused", caller=caller, route=route, status=403)
            raise Problem(
                403,
                "caller-not-allowed",
                f"Service {caller!r} may not call {route}.",
                caller=caller,
            )
        return caller

    @staticmethod
    def _authenticate(
        request: Request, credentials: Credentials, verifier: TokenVerifier, route: str
    ) -> str:
        token = request.headers.get(TOKEN_HEADER)
        identity = _peer_identity(request, credentials.transport)
        try:
            if not token:
                raise TokenRejected(f"no {TOKEN_HEADER} header")
            issuer = verifier.verify(token).issuer
            if credentials.transport == "mtls" and identity != spiffe_id(issuer):
                raise TokenRejected(
                    f"token issuer {issuer!r} does not match the client certificate {identity!r}"
                )
            if credentials.transport == "mesh" and identity is None:
                # Behind a mesh only the sidecar reaches the port, and it always says whose
                # certificate it verified: a request without that came around the mesh.
                raise TokenRejected(f"no {XFCC_HEADER} header from the mesh")
            if credentials.transport == "mesh" and identity != credentials.mesh_identity_of(issuer):
                raise TokenRejected(f"token issuer {issuer!r} does not match the mesh identity")
            if credentials.transport == "cloudrun":
                _bind_to_google_identity(issuer, identity, credentials.project)
        except TokenRejected as rejected:
            _log.warning(
                "caller refused", reason=str(rejected), peer=identity, route=route, status=401
            )
            raise Problem(
                401,
                "caller-unauthenticated",
                f"The calling service is not proven: {rejected}.",
                headers={"WWW-Authenticate": 'Bearer realm="mosaic-services"'},
            ) from None
        return issuer


def _bind_to_google_identity(issuer: str, email: str | None, project: str | None) -> None:
    # Only Cloud Run's front end reaches the port, and with IAM on it admits a caller only
    # with an ID token it verified: a request without one came some other way. The token
    # says which service account called; our token must be that service's.
    if email is None:
        raise TokenRejected(f"no Google ID token in {ID_TOKEN_HEADER}")
    if project is None or email != service_account(issuer, project):
        raise TokenRejected(f"token issuer {issuer!r} does not match the caller {email!r}")


def _peer_identity(request: Request, transport: Transport) -> str | None:
    if transport == "cloudrun":
        return caller_email(request.headers.get(ID_TOKEN_HEADER, ""))
    if transport == "mtls":
        tls = request.scope.get("extensions", {}).get("tls", {})
        identity = tls.get("client_identity")
        return identity if isinstance(identity, str) else None
    # Behind a mesh the sidecar verified the client certificate and says whose it was.
    return mesh_identity(request.headers.get(XFCC_HEADER, ""))


def mesh_identity(header: str) -> str | None:
    """The URI of the last element of an `x-forwarded-client-cert` header, or None.

    Envoy's format: elements separated by `,`, each `key=value` pairs separated by `;`,
    values in double quotes when they hold `,`, `;` or `=` (a Subject does), `\"` inside
    quotes. Each proxy that forwards appends its element, so the last one is what our own
    sidecar verified; anything earlier was written further away. Istio's sidecars append on
    the way in (APPEND_FORWARD) and strip the header on the way out, and only for a
    connection whose client certificate they verified: under PeerAuthentication STRICT that
    is every one; in PERMISSIVE a plain-text caller's own header would arrive unchanged.
    """
    elements: list[dict[str, str]] = [{}]
    key, value, quoted, escaped, in_value = "", "", False, False, False
    for char in header + ",":
        if escaped:
            value, escaped = value + char, False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif quoted:
            value += char
        elif char == "=" and not in_value:
            in_value = True
        elif char in ";,":
            if key.strip():
                elements[-1].setdefault(key.strip().lower(), value.strip())
            key, value, in_value = "", "", False
            if char == ",":
                elements.append({})
        elif in_value:
            value += char
        else:
            key += char
    last = next((element for element in reversed(elements) if element), {})
    return last.get("uri") or None


def callers(*allowed: str) -> Any:
    """Declare which services may call a route: `dependencies=[callers("frontend")]`."""
    return Depends(CallerPolicy(allowed))


def policy_of(route: APIRoute) -> CallerPolicy | None:
    for dependency in route.dependencies:
        if isinstance(dependency, DependsParam) and isinstance(dependency.dependency, CallerPolicy):
            return dependency.dependency
    return None


def route_policies(router: APIRouter | Iterable[BaseRoute]) -> list[dict[str, Any]]:
    """Each API route with its allowed callers, as declared in code."""
    routes = router.routes if isinstance(router, APIRouter) else router
    found = []
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        policy = policy_of(route)
        for method in sorted(route.methods or ()):
            found.append(
                {
                    "method": method,
                    "path": route.path,
                    "callers": sorted(policy.allowed) if policy else [],
                    "declared": policy is not None,
                }
            )
    return sorted(found, key=lambda r: (r["path"], r["method"]))


def require_policies(routes: Iterable[BaseRoute]) -> None:
    """Deny by default, by construction: every API route must say who may call it."""
    missing = [
        f"{','.join(sorted(r.methods or ()))} {r.path}"
        for r in api_routes(routes)
        if policy_of(r) is None
    ]
    if missing:
        raise RuntimeError(
            "routes without a caller allowlist: "
            + "; ".join(missing)
            + " (add dependencies=[callers(...)]; callers() allows none)"
        )
