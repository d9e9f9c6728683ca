"""Whom the per-address limit counts: an address, or an IPv6 user's whole /64."""

from __future__ import annotations

import pytest
from accounts.dependencies import client_subject
from chassis import Problem


@pytest.mark.parametrize(
    ("header", "subject"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
    ],
)
def test_subjects(header: str, subject: str) -> None:
    assert client_subject(header) == subject


@pytest.mark.parametrize("header", ["", "localhost", "203.0.113", "203.0.113.7:443", "1.2.3.4/8"])
def test_anything_but_an_address_is_refused(header: str) -> None:
    with pytest.raises(Problem) as raised:
        client_subject(header)
    assert raised.value.status == 422
