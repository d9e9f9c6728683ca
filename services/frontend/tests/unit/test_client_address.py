from ipaddress import ip_network

import pytest
from frontend.web.client_address import address_behind

INGRESS = [ip_network("10.0.0.0/8"), ip_network("fd00::/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "expected"),
    [
        # Nobody trusted (the default): the header is never read.
        ("203.0.113.7", ["198.51.100.1"], [], "203.0.113.7"),
        ("10.0.0.5", ["198.51.100.1"], [], "10.0.0.5"),
        # A peer outside the trusted proxies cannot speak for anyone else.
        ("203.0.113.7", ["198.51.100.1"], INGRESS, "203.0.113.7"),
        # Behind the ingress: the address it appended.
        ("10.0.0.5", ["198.51.100.1"], INGRESS, "198.51.100.1"),
        # A client's own header is to the left of what the ingress appended: ignored.
        ("10.0.0.5", ["6.6.6.6, 198.51.100.1"], INGRESS, "198.51.100.1"),
        ("10.0.0.5", ["6.6.6.6", "198.51.100.1"], INGRESS, "198.51.100.1"),
        # Two trusted hops: the right-most untrusted address.
        ("10.0.0.5", ["6.6.6.6, 198.51.100.1, 10.1.2.3"], INGRESS, "198.51.100.1"),
        ("fd00::1", ["2001:db8::7"], INGRESS, "2001:db8::7"),
        # Only trusted hops: the furthest one known.
        ("10.0.0.5", ["10.9.9.9, 10.1.2.3"], INGRESS, "10.9.9.9"),
        # No header at all behind the ingress: the ingress itself.
        ("10.0.0.5", [], INGRESS, "10.0.0.5"),
        # Garbage where a trusted proxy would have written an address: stop at the last hop.
        ("10.0.0.5", ["198.51.100.1, not-an-ip"], INGRESS, "10.0.0.5"),
        ("10.0.0.5", ["not-an-ip, 10.1.2.3"], INGRESS, "10.1.2.3"),
        # An IPv4 peer seen through a dual-stack socket is the same address.
        ("::ffff:10.0.0.5", ["198.51.100.1"], INGRESS, "198.51.100.1"),
        (None, ["198.51.100.1"], INGRESS, "0.0.0.0"),
    ],
)
def test_address_behind(peer, forwarded_for, trusted, expected) -> None:
    assert address_behind(peer, forwarded_for, trusted) == expected
