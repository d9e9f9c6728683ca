"""The shop's internal APIs as their callers meet them: each service's committed contract
(`services/<name>/openapi.json`), who may call each route (its `callers(...)` allowlist,
read from the code as `mosaic admin policy` reads it), and a `requests` session as one
caller over mTLS with a fresh service token per request (what schemathesis sends with).
For the fuzzing of every contract and the authorization matrix (tests/system)."""

import json
from functools import cache
from pathlib import Path
from typing import Any

import requests
from mosaic.admin.policy import Route, service_routes
from mosaic.home import services_dir
from mosaic.pki import TOKEN_HEADER as SERVICE_TOKEN
from mosaic.pki import Pki, load_signing_key, sign_token
from mosaic.services import OPERATOR, discover_services

# Every service with an API that other services (not browsers) call.
INTERNAL_APIS = (
    "accounts",
    "cart",
    "catalog",
    "currency",
    "orders",
    "payments",
    "recommendations",
    "shipping",
)


def contract_path(service: str) -> Path:
    return services_dir() / service / "openapi.json"


def contract(service: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(contract_path(service).read_text())
    return document


@cache
def routes(service: str) -> tuple[Route, ...]:
    """The service's routes with their allowlists, from its code."""
    found = next(s for s in discover_services(services_dir()) if s.name == service)
    return tuple(service_routes(found))


def route(service: str, method: str, template: str) -> Route:
    """The route of `service` for `method` and a path template of its contract."""
    for candidate in routes(service):
        if candidate.method == method.upper() and candidate.path == template:
            return candidate
    raise LookupError(f"{service} has no route {method.upper()} {template} in its code")


def allowed_caller(service: str, method: str, template: str) -> str:
    """The first caller (by name) the route allows, as `mosaic admin call` chooses; for a
    method the path does not have (to see it refused), a caller of one it has."""
    try:
        callers = route(service, method, template).callers
    except LookupError:
        callers = next(r.callers for r in routes(service) if r.path == template)
    assert callers, f"no caller may call {method} {template} of {service}"
    return callers[0]


def refused_caller(service: str, method: str, template: str) -> str:
    """A caller the route does not allow: another service, never the operator (whom a
    route allows only when it says so)."""
    allowed = set(route(service, method, template).callers)
    others = [s for s in (*INTERNAL_APIS, "frontend") if s not in allowed and s != service]
    return others[0] if others else OPERATOR


class ServiceTokenAuth(requests.auth.AuthBase):
    """A fresh service token on every request (a token is short-lived and may be used
    once), signed as `caller` for `audience`."""

    def __init__(self, home: Path, caller: str, audience: str) -> None:
        self.key = load_signing_key(Pki.of(home).service(caller).signing_key)
        self.caller, self.audience = caller, audience

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[SERVICE_TOKEN] = sign_token(
            self.key, issuer=self.caller, audience=self.audience
        )
        return request


def caller_session(home: Path, service: str, caller: str) -> requests.Session:
    """A session calling `service` as `caller` (a service or the operator) over mTLS, with
    the certificates of the `mosaic up` at `home`. Close it when done. (Whoever passes
    `verify` or `cert` per request, as schemathesis does, passes `tls_arguments`.)"""
    session = requests.Session()
    session.trust_env = False  # no proxy, no CA bundle from the environment: the shop's own
    for name, value in tls_arguments(home, caller).items():
        setattr(session, name, value)
    session.auth = ServiceTokenAuth(home, caller, service)
    return session


def tls_arguments(home: Path, caller: str) -> dict[str, Any]:
    """`requests`' TLS arguments as `caller`: its client certificate, and the shop's CA."""
    pki = Pki.of(home)
    files = pki.service(caller)
    return {"cert": (str(files.cert), str(files.key)), "verify": str(pki.ca_cert)}
