"""The shopper's address as the limits see it, under `mosaic up`: a client cannot choose it.

accounts limits failed sign-ins per client address (50 in 15 minutes by default), and the
address is the one the frontend works out (`frontend.web.client_address`, TRUSTED_PROXIES:
none by default). If the server under the frontend believed `X-Forwarded-For` itself,
every attempt could claim a fresh address and the limit would never bite.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from mosaic.ports import free_port
from mosaic_testing import MODES, Forms, UpProcess, up_args

# Both modes: the frontend's port is served by its own process, or by chassis.host's.
pytestmark = pytest.mark.system

PER_ADDRESS = 50  # accounts' default ACCOUNTS_SIGNIN_LIMIT_PER_ADDRESS
ATTEMPTS = 60


@pytest.fixture(scope="module", params=MODES)
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("client-address") / "home"
    with UpProcess(home, free_port(), *up_args(request.param)) as up:
        yield up.wait_ready(timeout=120)


def failed_sign_in(browser: httpx.Client, forwarded_for: str) -> int:
    """One wrong password for a fresh address (so no per-account limit is reached first),
    the request claiming to come from `forwarded_for`."""
    page = browser.get("/sign-in")
    assert page.status_code == 200
    fields = Forms(page.text).form("/sign-in")
    email = f"nobody.{uuid.uuid4().hex[:12]}@example.com"
    answer = browser.post(
        "/sign-in",
        data={**fields, "email": email, "password": "not the password at all"},
        headers={"x-forwarded-for": forwarded_for},
    )
    return answer.status_code


def test_spoofed_forwarded_for_does_not_escape_the_per_address_sign_in_limit(shop: str) -> None:
    with httpx.Client(base_url=shop, timeout=20) as browser:
        statuses = [
            failed_sign_in(browser, f"198.51.100.{n % 250 + 1}, 203.0.113.{n % 250 + 1}")
            for n in range(ATTEMPTS)
        ]
    assert statuses[:PER_ADDRESS] == [401] * PER_ADDRESS
    assert statuses[PER_ADDRESS:] == [429] * (ATTEMPTS - PER_ADDRESS), statuses
