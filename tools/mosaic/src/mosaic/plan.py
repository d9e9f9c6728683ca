"""What `mosaic up` runs: every process of every service, its ports and its environment."""

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mosaic.errors import UsageError
from mosaic.home import venv_bin
from mosaic.pki import Pki
from mosaic.pki.files import ServiceFiles
from mosaic.ports import free_port
from mosaic.services import Service, url_variable

_SCALE = re.compile(r"^(?P<target>[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+)?)=(?P<count>\d+)$")
MAX_REPLICAS = 16
TRANSPORTS = ("mtls", "mesh")  # services terminate TLS themselves, or a mesh does it for them

# THE switch between runner and chassis (issue 3): in mtls mode, callers reach services
# over https, because the chassis serves TLS on a non-edge API port whenever TLS_CERT_FILE
# is set. Turned off, certificates are still handed over but the URLs stay http.
CALLEES_SERVE_TLS = True
# Admin URLs and other services' settings must never reach a service by inheritance.
_NOT_INHERITED = re.compile(
    r"^(MOSAIC_.*|DATABASE_URL|REDIS_URL|BROKER_URL|SMTP_URL|SHOP_URL|PORT|OPS_PORT|HOST|EDGE"
    r"|TRANSPORT_SECURITY|TLS_(CERT|KEY|CA)_FILE|SERVICE_SIGNING_KEY_FILE|SERVICE_TRUST_DIR"
    r"|CSRF_SECRET|SECRETS_DIR)$"
)


def parse_scale(values: list[str]) -> dict[str, int]:
    """`SERVICE=N` (every process type) or `SERVICE.TYPE=N` to replica counts."""
    scale: dict[str, int] = {}
    for value in values:
        match = _SCALE.match(value.strip())
        if match is None:
            raise UsageError(
                f"--scale {value!r}: expected SERVICE=N or SERVICE.TYPE=N",
                "For example: --scale catalog=3 or --scale catalog.web=2",
            )
        count = int(match["count"])
        if not 1 <= count <= MAX_REPLICAS:
            raise UsageError(f"--scale {value!r}: N must be between 1 and {MAX_REPLICAS}")
        scale[match["target"]] = count
    return scale


@dataclass(frozen=True)
class ProcessPlan:
    service: Service
    kind: str  # the Procfile process type
    replica: int
    port: int  # shared by the replicas of the service (SO_REUSEPORT)
    ops_port: int  # this replica's /healthz and /readyz

    @property
    def name(self) -> str:
        return f"{self.service.name}.{self.kind}.{self.replica}"


def plan_processes(
    services: list[Service], scale: Mapping[str, int], edge_port: int
) -> list[ProcessPlan]:
    known = {s.name for s in services} | {f"{s.name}.{t}" for s in services for t in s.processes}
    if unknown := sorted(set(scale) - known):
        raise UsageError(
            f"--scale names {', '.join(unknown)}, which is no service or process type",
            f"Services and types here: {', '.join(sorted(known))}",
        )
    plans = []
    for service in services:
        port = edge_port if service.edge else free_port()
        for kind in service.processes:
            count = scale.get(f"{service.name}.{kind}", scale.get(service.name, 1))
            for replica in range(1, count + 1):
                plans.append(ProcessPlan(service, kind, replica, port, free_port()))
    return plans


def service_ports(plans: list[ProcessPlan]) -> dict[str, int]:
    return {plan.service.name: plan.port for plan in plans}


def callee_scheme(transport: str) -> str:
    """http or https: how callers reach a non-edge service's API port."""
    return "https" if transport == "mtls" and CALLEES_SERVE_TLS else "http"


def security_env(pki: Pki, service: Service, transport: str) -> dict[str, str]:
    """The service's identity and trust store (issue 3): certificate files in mtls mode
    only (behind a mesh the sidecar holds them); token keys in every mode."""
    return identity_env(pki.service(service.name), transport)


def identity_env(files: ServiceFiles, transport: str) -> dict[str, str]:
    """The variables naming a service's identity files, wherever they are (our home, or
    where a container has them mounted): the settings take file paths."""
    env = {
        "TRANSPORT_SECURITY": transport,
        "SERVICE_SIGNING_KEY_FILE": str(files.signing_key),
        "SERVICE_TRUST_DIR": str(files.trust_dir),
    }
    if transport == "mtls":
        env.update(
            TLS_CERT_FILE=str(files.cert),
            TLS_KEY_FILE=str(files.key),
            TLS_CA_FILE=str(files.ca_cert),
        )
    return env


def service_env(
    service: Service,
    ports: Mapping[str, int],
    urls: Mapping[str, str],
    security: Mapping[str, str] | None = None,
    shop_url: str | None = None,
) -> dict[str, str]:
    """Environment shared by every process of a service, its release phase included.

    `shop_url` is the edge's address as shoppers reach it (SHOP_URL), for links that leave
    the shop, such as the ones in e-mails.

    `urls` holds this service's own DATABASE_URL / REDIS_URL / BROKER_URL / SMTP_URL (and
    nothing of any other);
    `security` its credentials (`security_env`), which also decide the callees' scheme.
    """
    env = base_env()
    env.update(
        HOST="127.0.0.1",
        PORT=str(ports[service.name]),
        MOSAIC_SERVICE=service.name,
        EDGE="true" if service.edge else "false",  # [tool.mosaic] edge decides, not a default
        LOG_FORMAT="json",
    )
    if shop_url is not None:
        env["SHOP_URL"] = shop_url
    env.update(urls)
    env.update(security or {})
    scheme = callee_scheme(env.get("TRANSPORT_SECURITY", "mesh"))
    env.update(callee_urls(service, scheme, lambda callee: f"127.0.0.1:{ports[callee]}"))
    return env


def callee_urls(service: Service, scheme: str, address: Callable[[str], str]) -> dict[str, str]:
    """`<CALLEE>_URL` for each service this one calls, at `address(callee)` (HOST:PORT):
    a loopback port under `mosaic up`, the callee's DNS name in a container."""
    return {url_variable(c): f"{scheme}://{address(c)}" for c in service.calls}


def base_env() -> dict[str, str]:
    """What every process the runner starts gets: our environment minus anything that
    names a service's settings, and the workspace's virtualenv first on the PATH."""
    env = {k: v for k, v in os.environ.items() if not _NOT_INHERITED.match(k)}
    bin_dir = venv_bin()
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        VIRTUAL_ENV=str(bin_dir.parent),
        PYTHONUNBUFFERED="1",  # lines reach the runner as they are written
    )
    return env


def process_env(base: Mapping[str, str], plan: ProcessPlan) -> dict[str, str]:
    return {
        **base,
        "OPS_PORT": str(plan.ops_port),
        "MOSAIC_PROCESS": plan.kind,
        "MOSAIC_REPLICA": str(plan.replica),
    }


def tracing_env(endpoint: str, service: Service | None = None) -> dict[str, str]:
    """The OTEL_* variables of a process `mosaic up` starts: its spans go to the runner's
    receiver at `endpoint`. A request that changes something (an order, a cart) starts a
    kept trace, up to one a second per process in bursts of 30, so a newcomer finds their
    own order's; page views, and writes past that, are kept one in a hundred, since every
    span kept costs CPU: a product page at 0.1 cost ~17-20 % more, at 0.01 ~8 % (and every
    write kept made a checkout under load dearer): docs/performance.md, "the price of seeing". The
    runner's own OTEL_TRACES_SAMPLER_ARG (the ratio), MOSAIC_TRACE_WRITES_PER_SECOND (`0`:
    the ratio alone; a ratio of 0 implies it) and OTEL_TRACES_EXPORTER (e.g. `console`) win.
    Without `service` (the in-process host) the chassis names the resource."""
    ratio = os.environ.get("OTEL_TRACES_SAMPLER_ARG", "0.01")
    # A ratio of 0 asks for no traces at all: an order's neither. (A ratio that is no
    # number is left to the chassis, which stops with one line naming the variable.)
    writes_per_second = "0" if _is_zero(ratio) else "1"
    env = {
        "OTEL_TRACES_EXPORTER": os.environ.get("OTEL_TRACES_EXPORTER", "otlp"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": ratio,
        "MOSAIC_TRACE_WRITES_PER_SECOND": os.environ.get(
            "MOSAIC_TRACE_WRITES_PER_SECOND", writes_per_second
        ),
        "OTEL_BSP_SCHEDULE_DELAY": "1000",  # ms: a trace shows up within a second or so
    }
    if service is not None:
        env["OTEL_SERVICE_NAME"] = service.name
    return env


def _is_zero(ratio: str) -> bool:
    try:
        return float(ratio) == 0
    except ValueError:
        return False
