"""Where `mosaic up --faults` puts a proxy: on every hop a service's processes open, one
listener per (caller, callee) pair, so a fault on `frontend->catalog` leaves `cart->catalog`
alone. The caller's environment names the proxy instead of the callee: `<CALLEE>_URL` for
a service it calls, DATABASE_URL for Postgres, REDIS_URL and BROKER_URL (one hop) for
Valkey. Every replica of the caller shares its hops; the proxy reaches the callee's one
port, which its replicas share (SO_REUSEPORT), so the kernel still spreads the load.
"""

from collections.abc import Mapping
from urllib.parse import urlsplit

from mosaic.backing.service_secrets import at_host
from mosaic.chaos.proxy import HopProxy
from mosaic.errors import UsageError
from mosaic.services import Service, url_variable

POSTGRES, VALKEY = "postgres", "valkey"
_BACKING_VARIABLES = {"DATABASE_URL": POSTGRES, "REDIS_URL": VALKEY, "BROKER_URL": VALKEY}
_DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "redis": 6379, "rediss": 6379}
_DEFAULT_PORTS.update(http=80, https=443)


def hop_name(caller: str, callee: str) -> str:
    return f"{caller}->{callee}"


def parse_hop(text: str) -> tuple[str, str]:
    """`caller->callee` or `caller:callee` (no quotes needed in a shell) as its two names."""
    for separator in ("->", ":"):
        caller, found, callee = text.partition(separator)
        if found and caller and callee:
            return caller.strip(), callee.strip()
    raise UsageError(
        f"{text!r} is no hop",
        "Name it CALLER->CALLEE (quoted in a shell) or CALLER:CALLEE, e.g. frontend:catalog, "
        "catalog:postgres, frontend:valkey; `mosaic chaos faults --all` lists them.",
    )


class Hops:
    """Every hop's proxy, made as the runner wires each service."""

    def __init__(self) -> None:
        self.proxies: dict[str, HopProxy] = {}

    async def wire(self, service: Service, env: Mapping[str, str]) -> dict[str, str]:
        """`env` with every address the service reaches replaced by its hop's proxy."""
        wired = dict(env)
        for callee in service.calls:
            variable = url_variable(callee)
            wired[variable] = await self._through(service.name, callee, env[variable])
        for variable, server in _BACKING_VARIABLES.items():
            if variable in env:
                wired[variable] = await self._through(service.name, server, env[variable])
        return wired

    async def _through(self, caller: str, callee: str, url: str) -> str:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or _DEFAULT_PORTS[parts.scheme]
        name = hop_name(caller, callee)
        proxy = self.proxies.get(name)
        if proxy is None:
            proxy = HopProxy(name, host, port)
            await proxy.start()
            self.proxies[name] = proxy
        return at_host(url, f"127.0.0.1:{proxy.port}")

    def find(self, text: str) -> HopProxy:
        caller, callee = parse_hop(text)
        proxy = self.proxies.get(hop_name(caller, callee))
        if proxy is None:
            raise UsageError(
                f"no hop {hop_name(caller, callee)} in this shop",
                f"Hops here: {', '.join(sorted(self.proxies))}.",
            )
        return proxy

    async def close(self) -> None:
        for proxy in self.proxies.values():
            await proxy.close()
