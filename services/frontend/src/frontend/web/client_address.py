"""The shopper's address, which accounts uses to limit sign-in attempts per address.

Behind an ingress or load balancer the direct peer is the proxy, and the shopper's address
is in `X-Forwarded-For`. That header is believed only when the peer is one of
`TRUSTED_PROXIES` (none by default), and then only from the right: each trusted proxy
appends the address it saw, so the right-most address that is not a trusted proxy is the
first one no trusted hop can vouch past. Anything further left was written by the client
itself and could be anything, so a spoofed header never earns a fresh rate-limit bucket.
"""

from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.requests import HTTPConnection, Request

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

UNKNOWN = "0.0.0.0"  # reported when the server gives no peer; never bound


def client_address(request: Request) -> str:
    networks: Sequence[Network] = request.app.state.settings.proxy_networks
    peer = request.client.host if request.client else None
    return address_behind(peer, request.headers.getlist("x-forwarded-for"), networks)


def address_behind(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str:
    """The client's address, given the direct peer and the `X-Forwarded-For` headers."""
    nearest = _parsed(peer)
    if nearest is None:
        return peer or UNKNOWN
    if not _is_trusted(nearest, trusted):
        return str(nearest)
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        address = _parsed(hop)
        if address is None:
            break  # a trusted proxy would have written an address: stop at the last known hop
        nearest = address
        if not _is_trusted(address, trusted):
            break
    return str(nearest)


def is_trusted_peer(peer: str | None, trusted: Sequence[Network]) -> bool:
    """Whether the direct peer is one of the proxies whose forwarding headers we believe."""
    address = _parsed(peer)
    return address is not None and _is_trusted(address, trusted)


def through_trusted_proxy(trusted: Sequence[Network]) -> Callable[[HTTPConnection], bool]:
    """Whether a request's direct peer is a trusted proxy: then its x-request-id is kept
    (the ingress's id, in its logs too); a browser's own is only logged beside ours."""

    def check(connection: HTTPConnection) -> bool:
        return is_trusted_peer(connection.client.host if connection.client else None, trusted)

    return check


def _is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def _parsed(value: str | None) -> Address | None:
    if not value:
        return None
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
