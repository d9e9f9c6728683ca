"""Issue 19's backing services and a paused process under load: shoppers check out through
the pages while Postgres is restarted, then Valkey; and, in a second run, while payments
is SIGSTOPped for 20 s. Every checkout is checked end to end afterwards by the chaos
run's rules (`mosaic_testing.chaos`): no order lost, doubled or disagreed on, no card
charged twice, every shopper told the truth.

Meanwhile a probe reads two pages every quarter second: the home page as a visitor
(catalog, recommendations), and the cart as a signed-in shopper (the session in Valkey,
cart's and accounts' data). A run of failed probes lasts at most as long as the restart
(the server's own stop and start: 2 s on a quiet machine, 16 s seen beside another shop's
tests) plus RECOVERY_SECONDS, the time the shop may take to find the server again by
itself. A signed-in session, its cart and the sign-in limiter's count live in Valkey, and
must survive its restart.

The shop runs with the liveness probe relaxed to 30 s (6 misses of 5 s) so that the pause
lasts its 20 s: with the default numbers the runner kills a silent process after 12-17 s,
which tests/system/test_liveness.py proves.
"""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Self

import httpx
import pytest
from mosaic.ports import free_port
from mosaic_testing import FAST_REDELIVERY, Forms, Shopper, UpProcess, wait_until
from mosaic_testing.chaos import Chaos, Result, run

pytestmark = pytest.mark.system

PASSWORD = "tidal lanterns over quiet harbours"
DURATION = 45  # seconds of checkouts (each restart and the pause inside it)
SHOPPERS = 3
RECOVERY_SECONDS = 10  # the longest a probed page may fail after a restart is over
PROBE_EVERY = 0.25
PAUSE_SECONDS = 20
SIGNIN_LIMIT = 10  # accounts' default failed sign-ins per account and client


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, str]]:
    home = tmp_path_factory.mktemp("backing-restarts") / "home"
    port = free_port()
    env = {**FAST_REDELIVERY, "MOSAIC_LIVENESS": "5,2,6"}
    with UpProcess(home, port, extra_env=env) as up:
        up.wait_ready(timeout=240)
        yield up, f"http://127.0.0.1:{port}"


@dataclass
class Probe:
    """Reads `path` with `http` every PROBE_EVERY seconds until closed; each answer's status
    (0: no answer) and when."""

    http: httpx.Client
    path: str
    answers: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._probe, daemon=True)
        self._thread.start()
        return self

    def _probe(self) -> None:
        while not self._stop.is_set():
            try:
                status = self.http.get(self.path).status_code
            except httpx.HTTPError:
                status = 0
            self.answers.append((time.monotonic(), status))
            self._stop.wait(PROBE_EVERY)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def outages(self) -> list[float]:
        """How long each run of failed answers lasted (seconds, from the first failure to
        the next success)."""
        spans, began = [], None
        for at, status in self.answers:
            if status != 200 and began is None:
                began = at
            elif status == 200 and began is not None:
                spans.append(round(at - began, 2))
                began = None
        if began is not None:
            spans.append(float("inf"))  # never answered again
        return spans

    def summary(self) -> dict[str, object]:
        failed = [status for _, status in self.answers if status != 200]
        return {"path": self.path, "answers": len(self.answers), "failed": len(failed),
                "statuses": sorted(set(failed)), "outages_s": self.outages()}  # fmt: skip


def signed_in_shopper(up: UpProcess, url: str, name: str) -> tuple[Shopper, str]:
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    shopper = Shopper(url)
    shopper.sign_up(f"{name} Tester", email, PASSWORD, mail=up.mail)
    return shopper, email


def sign_in(guesser: Shopper, email: str, password: str) -> httpx.Response:
    return guesser.submit("/sign-in", "/sign-in", email=email, password=password)


def lock_out(guesser: Shopper, email: str) -> int:
    """Wrong passwords until accounts' limiter refuses: how many it took."""
    for guess in range(1, SIGNIN_LIMIT + 2):
        if sign_in(guesser, email, f"wrong guess {guess}").status_code == 429:
            return guess
    raise AssertionError(f"no 429 after {SIGNIN_LIMIT + 1} wrong passwords")


def check_run(result: Result) -> None:
    print(json.dumps(result.as_json(), indent=1, default=str))
    assert all(k.signal == "chaos" and k.back_after is not None for k in result.kills), result.kills
    assert result.orders >= 5, result.as_json()  # the run did check out throughout
    assert set(result.ended) <= {"confirmed", "cancelled"}, result.ended  # every order final
    assert result.violations == [], "\n".join(
        f"{v.rule} {v.email} {v.order_id}: {v.detail}" for v in result.violations
    )


@pytest.mark.timeout(900)
def test_postgres_then_valkey_restarted_under_load_lose_nothing(
    shop: tuple[UpProcess, str],
) -> None:
    up, url = shop
    ada, _ = signed_in_shopper(up, url, "Ada")
    victim, victim_email = signed_in_shopper(up, url, "Grace")
    victim.http.close()
    with ada, Shopper(url) as guesser, Shopper(url) as visitor:
        ada.add_to_cart(ada.products()[0], 2)
        guesses = lock_out(guesser, victim_email)  # the limiter's count, in Valkey
        restarts = [Chaos(("restart", "postgres"), 0.25), Chaos(("restart", "valkey"), 0.6)]
        with Probe(visitor.http, "/") as home, Probe(ada.http, "/cart") as cart:
            result = run(up, url, duration=DURATION, shoppers=SHOPPERS, kills=restarts,
                         presses_again=True)  # fmt: skip
        print(json.dumps({"probes": [home.summary(), cart.summary()]}))
        check_run(result)
        away = max(k.back_after or 0.0 for k in result.kills)  # the longest restart
        for probe in (home, cart):
            assert probe.answers, probe.summary()
            assert all(s <= away + RECOVERY_SECONDS for s in probe.outages()), (
                away,
                probe.summary(),
            )

        # What lives in Valkey survived its restart: the session with its cart, and the
        # limiter's count (even the right password is still refused).
        def signed_in_with_the_cart() -> bool:
            answer = ada.http.get("/cart")
            page = Forms(answer.text)
            return (
                answer.status_code == 200
                and page.signed_in_as == "Ada Tester"
                and page.cart_count == 2
            )

        wait_until(signed_in_with_the_cart, RECOVERY_SECONDS, "Ada's session and cart")
        still = sign_in(guesser, victim_email, PASSWORD)
        assert still.status_code == 429, (guesses, still.status_code)
        assert "Too many attempts for now." in still.text


@pytest.mark.timeout(900)
def test_payments_paused_for_20_s_during_checkouts_charges_no_card_twice(
    shop: tuple[UpProcess, str],
) -> None:
    up, url = shop
    pause = Chaos(("pause", "payments", "--for", str(PAUSE_SECONDS)), 0.3,
                  over_when="chaos: SIGCONT to payments.web.1")  # fmt: skip
    payments = up.processes()["payments.web.1"]["pid"]
    with Shopper(url) as visitor, Probe(visitor.http, "/") as home:
        product = visitor.products()[0]
        with Probe(visitor.http, f"/product/{product}") as page:
            result = run(up, url, duration=DURATION, shoppers=SHOPPERS, kills=[pause],
                         presses_again=True)  # fmt: skip
    print(json.dumps({"probes": [home.summary(), page.summary()]}))
    check_run(result)
    [paused] = result.kills
    assert paused.back_after is not None and paused.back_after >= PAUSE_SECONDS - 1, paused
    assert up.processes()["payments.web.1"]["pid"] == payments  # paused, never killed
    # The shop answered meanwhile: browsing needs no payments.
    for probe in (home, page):
        assert probe.answers and not probe.outages(), probe.summary()
