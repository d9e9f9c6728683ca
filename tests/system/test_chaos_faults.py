"""`mosaic up --faults` and `mosaic chaos` against the real shop (issue 19, point 1): a fault
on a hop is felt where it is put and gone once it ends; Valkey restarted under the shop
keeps a shopper's session and cart; a paused and a killed process come back.

Timings are asserted only where the fault is the timing (latency), as lower bounds, and
with the same fault off as the comparison; everything else waits bounded for an effect.
"""

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mosaic.ports import free_port
from mosaic_testing import Forms, Shopper, UpProcess, mosaic, wait_until

pytestmark = pytest.mark.system

PRODUCT = "/product/brass-compass"
LATENCY_MS = 600


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, str]]:
    home = tmp_path_factory.mktemp("chaos") / "home"
    port = free_port()
    with UpProcess(home, port, "--faults") as up:
        up.wait_ready(timeout=180)
        yield up, f"http://127.0.0.1:{port}"


def chaos(up: UpProcess, *args: str) -> str:
    done = mosaic("chaos", *args, env=up.env, timeout=90)
    assert done.returncode == 0, f"mosaic chaos {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def listing(up: UpProcess) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(chaos(up, "faults", "--json"))
    return found


def fault_on(up: UpProcess, hop: str) -> str:
    return next(h["fault"]["kind"] for h in listing(up)["hops"] if h["hop"] == hop)


def page(url: str, path: str = PRODUCT) -> tuple[int, float]:
    began = time.monotonic()
    answer = httpx.get(url + path, timeout=60)
    return answer.status_code, time.monotonic() - began


def retries(up: UpProcess, caller: str, callee: str) -> float:
    """The caller's count of retried calls to the callee (chassis metrics), all replicas."""
    total = 0.0
    pattern = re.compile(
        rf'^mosaic_http_client_retries_total\{{callee="{callee}",service="{caller}"\}} (\S+)$',
        re.MULTILINE,
    )
    for process in up.processes().values():
        if process["service"] == caller and process.get("ops_port"):
            text = httpx.get(f"http://127.0.0.1:{process['ops_port']}/metrics", timeout=10).text
            total += sum(float(m) for m in pattern.findall(text))
    return total


@pytest.mark.timeout(300)
def test_faults_on_hops_are_felt_then_gone(shop: tuple[UpProcess, str]) -> None:
    up, url = shop
    hops = {h["hop"] for h in listing(up)["hops"]}
    assert {"frontend->catalog", "catalog->postgres", "frontend->valkey"} <= hops
    assert "No fault on any of the" in chaos(up, "faults")
    assert page(url)[0] == 200

    # latency on frontend -> catalog: every product page waits for it
    chaos(up, "fault", "frontend->catalog", "latency", "--latency-ms", str(LATENCY_MS))
    assert fault_on(up, "frontend->catalog") == "latency"
    assert "frontend->catalog" in chaos(up, "faults")
    slow = [page(url) for _ in range(3)]
    assert all(status == 200 for status, _ in slow), slow
    assert min(seconds for _, seconds in slow) >= LATENCY_MS / 1000, slow
    chaos(up, "fault", "frontend:catalog", "none")
    fast = [page(url) for _ in range(3)]
    assert min(seconds for _, seconds in fast) < LATENCY_MS / 1000, fast
    print(f"product page with {LATENCY_MS} ms on frontend->catalog: {slow}; after: {fast}")

    # resets on the same hop: the frontend retries, then answers without the catalog
    before = retries(up, "frontend", "catalog")
    chaos(up, "fault", "frontend:catalog", "reset", "--for", "30")
    status, seconds = page(url)
    assert status >= 500, status  # the product page needs its product
    retried = retries(up, "frontend", "catalog") - before
    assert retried > 0
    print(f"resets on frontend->catalog: {status} in {seconds:.2f} s, {retried:g} retries")
    chaos(up, "fault", "frontend:catalog", "none")
    wait_until(lambda: page(url)[0] == 200, 15, "the product page back after the resets")

    # blackhole on catalog -> postgres, ended by --for: a page that reads Postgres fails
    # (within its deadline, nothing hangs), then works again once the fault ends
    # (long enough for a `mosaic chaos` command to start on a busy machine in between)
    chaos(up, "fault", "catalog:postgres", "blackhole", "--for", "20")
    assert fault_on(up, "catalog->postgres") == "blackhole"
    status, seconds = page(url, "/category/outdoor?page=2")  # not cached before
    assert status >= 500 and seconds < 20, (status, seconds)
    print(f"blackhole on catalog->postgres: an uncached read {status} in {seconds:.2f} s")
    up.wait_for("chaos: the fault on catalog->postgres ended; none now", 40)
    assert fault_on(up, "catalog->postgres") == "none"
    wait_until(lambda: page(url, "/category/outdoor")[0] == 200, 20, "catalog reading again")


@pytest.mark.timeout(300)
def test_valkey_restart_keeps_sessions_and_carts(shop: tuple[UpProcess, str]) -> None:
    up, url = shop
    with Shopper(url) as shopper:
        shopper.sign_up(
            "Ada", "ada.chaos@example.com", "correct horse battery staple", mail=up.mail
        )
        product = shopper.products()[0]
        shopper.add_to_cart(product, 2)
        assert shopper.open("/cart").cart_count == 2
        valkey_pid = up.processes()["valkey"]["pid"]

        restarted = chaos(up, "restart", "valkey")
        assert "valkey is back" in restarted
        print(restarted.strip())
        assert up.processes()["valkey"]["pid"] != valkey_pid

        def still_signed_in_with_the_cart() -> bool:
            answer = shopper.http.get("/cart")
            if answer.status_code != 200:
                return False
            forms = Forms(answer.text)
            return forms.signed_in_as == "Ada" and forms.cart_count == 2

        began = time.monotonic()
        wait_until(still_signed_in_with_the_cart, 20, "the session and cart after the restart")
        print(f"signed in with the cart again {time.monotonic() - began:.2f} s after it")


@pytest.mark.timeout(300)
def test_pause_then_kill_and_each_comes_back(shop: tuple[UpProcess, str]) -> None:
    up, url = shop
    catalog = up.processes()["catalog.web.1"]
    # Long enough for a `mosaic chaos` command to start on a busy machine in between.
    assert "paused catalog.web.1" in chaos(up, "pause", "catalog", "--for", "15")
    assert [p["name"] for p in listing(up)["paused"]] == ["catalog.web.1"]
    assert up.processes()["catalog.web.1"]["pid"] == catalog["pid"]
    up.wait_for("chaos: SIGCONT to catalog.web.1", 40)
    assert listing(up)["paused"] == []
    wait_until(lambda: page(url)[0] == 200, 20, "the product page after the pause")

    assert "killed catalog.web.1" in chaos(up, "kill", "catalog")

    def restarted() -> bool:
        now = up.processes()["catalog.web.1"]
        return now["state"] == "ready" and now["pid"] not in (None, catalog["pid"])

    wait_until(restarted, 60, "catalog.web.1 restarted after the kill")
    assert up.processes()["catalog.web.1"]["restarts"] > catalog["restarts"]
    wait_until(lambda: page(url)[0] == 200, 20, "the product page after the kill")


def test_refusals_are_clear(shop: tuple[UpProcess, str]) -> None:
    up, _ = shop
    for args, says in [
        (("fault", "frontend:nowhere", "reset"), "no hop frontend->nowhere"),
        (("fault", "frontend", "reset"), "is no hop"),
        (("fault", "frontend:catalog", "slow"), "no fault kind 'slow'"),
        (("kill", "nosuch"), "this shop runs no service 'nosuch'"),
        (("restart", "mysql"), "cannot restart 'mysql'"),
        (("pause", "catalog", "--for", "999"), "at most 300 s"),
    ]:
        done = mosaic("chaos", *args, env=up.env)
        assert done.returncode != 0 and says in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("action", "path"), [("restart", "/category/kitchen"), ("kill", "/category/stationery")]
)
def test_postgres_restarted_or_killed_under_the_shop(
    shop: tuple[UpProcess, str], action: str, path: str
) -> None:
    """The services find Postgres again by themselves; how many answers failed on the way
    is printed (a finding for issue 19 point 2 when it is not zero). `path` is read from
    Postgres (not cached before)."""
    up, url = shop
    before = up.processes()["postgres"]
    print(chaos(up, action, "postgres").strip())

    def back() -> bool:
        now = up.processes()["postgres"]
        return now["state"] == "ready" and now["pid"] not in (None, before["pid"])

    wait_until(back, 60, f"postgres ready again after {action}")
    failed: list[int] = []

    def reads_again() -> bool:
        status, _ = page(url, path)
        if status != 200:
            failed.append(status)
        return status == 200

    wait_until(reads_again, 30, f"catalog reading Postgres again after {action}")
    print(f"after {action} postgres: {len(failed)} failed answers first: {failed}")
