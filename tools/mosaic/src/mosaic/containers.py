"""How a service runs in a container: fixed ports, every interface, callees by DNS name,
its identity from mounted files. The one place compose or Kubernetes files are generated
from; `mosaic up` keeps free loopback ports on one machine (plan.py).

Fixed ports, because in a container each service has its own network namespace: the same
port everywhere costs nothing and lets a caller's URL be `https://catalog:8443` with no
port map to distribute. All above 1024: the processes run as a non-root user.
"""

from dataclasses import dataclass
from pathlib import Path

from mosaic.pki.files import ServiceFiles
from mosaic.plan import callee_scheme, callee_urls, identity_env
from mosaic.services import Service

API_PORT = 8443  # a service's API, TLS 1.3 with client certificates in mtls mode
EDGE_PORT = 8080  # the edge's API: plain HTTP behind the load balancer or ingress
OPS_PORT = 9090  # /healthz and /readyz of every process, web, worker or relay alike
BIND_ALL = "0.0.0.0"  # the container's own interfaces; its network decides who reaches them
WEB = "web"  # the Procfile process type that serves the API: the only one given PORT
# Tracing (chassis.tracing), the standard OTEL_* variables. One trace in ten is kept: a
# shop under real traffic still shows every kind of request many times a minute, at a
# tenth of the spans' cost. No exporter until a collector runs where the shop is deployed
# (none is part of these manifests): set OTEL_TRACES_EXPORTER=otlp and
# OTEL_EXPORTER_OTLP_ENDPOINT (OTLP over HTTP, e.g. http://collector:4318) to turn it on.
TRACING_ENV = {
    "OTEL_TRACES_EXPORTER": "none",
    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
    "OTEL_TRACES_SAMPLER_ARG": "0.01",
}

# Where a container finds its identity. Each service's private keys are mounted into its
# own containers only; the CA certificate and the token trust store are public.
IDENTITY_DIR = Path("/run/mosaic/identity")  # tls.crt, tls.key, signing.key
CA_CERT = Path("/run/mosaic/ca.crt")
TRUST_DIR = Path("/run/mosaic/trust")  # <service>.pub for every service
SECRETS_DIR = Path("/run/mosaic/secrets")  # its provisioned URLs, one file per variable


def api_port(service: Service) -> int:
    return EDGE_PORT if service.edge else API_PORT


def container_env(service: Service, kind: str, transport: str = "mtls") -> dict[str, str]:
    """What the runner's service_env sets, for one process type of `service` in its
    container: the same variable names, container values. Backing URLs and CSRF_SECRET
    come from `mosaic admin provision`'s files."""
    env = {
        "MOSAIC_SERVICE": service.name,
        "MOSAIC_PROCESS": kind,
        "HOST": BIND_ALL,
        "OPS_PORT": str(OPS_PORT),
        "EDGE": "true" if service.edge else "false",
        "LOG_FORMAT": "json",
        "OTEL_SERVICE_NAME": service.name,
        **TRACING_ENV,
    }
    if kind == WEB:
        env["PORT"] = str(api_port(service))
    files = ServiceFiles(service.name, IDENTITY_DIR, TRUST_DIR, CA_CERT)
    env.update(identity_env(files, transport))
    # Callees are never the edge: it calls them, nothing calls it.
    env.update(callee_urls(service, callee_scheme(transport), lambda c: f"{c}:{API_PORT}"))
    return env


def has_secrets(service: Service) -> bool:
    """Whether `mosaic admin provision` writes it anything: backing URLs, the edge's CSRF key
    (the SMTP sink takes no password)."""
    return bool(service.backing - {"smtp"} or service.edge)


def deployed_env(service: Service, kind: str, smtp_url: str, shop_url: str) -> dict[str, str]:
    """container_env, plus where its secret files are, its SMTP server and the shop's public
    address: every variable a deployed process gets, sorted by name."""
    env = container_env(service, kind)
    if has_secrets(service):
        env["SECRETS_DIR"] = str(SECRETS_DIR)
    if "smtp" in service.backing:
        env["SMTP_URL"] = smtp_url
    env["SHOP_URL"] = shop_url
    return dict(sorted(env.items()))


@dataclass(frozen=True)
class Mount:
    """A file or folder a service's containers read: `what` it is, `target` in the container."""

    what: str  # identity (its own keys), ca, trust (every service's public keys), secrets
    target: Path


def mounts(service: Service) -> list[Mount]:
    """Its identity (its own keys only), the CA and the token trust store; its secrets."""
    found = [Mount("identity", IDENTITY_DIR), Mount("ca", CA_CERT), Mount("trust", TRUST_DIR)]
    if has_secrets(service):
        found.append(Mount("secrets", SECRETS_DIR))
    return found
