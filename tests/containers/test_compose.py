"""The whole shop from its images under compose, on a private network: started with
`mosaic deploy compose up` (its own project, home and ports), shopped in a real browser,
broken (a killed catalog), scaled (two catalogs), and removed without a trace.

The tests of this module run in order, on the stage's one deployment (conftest.py), which
tests/containers/test_compose_backup.py uses too before the last test here removes it.
"""

import os
import re
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from mosaic.engine import Engine
from mosaic_testing import wait_until
from playwright.sync_api import Browser, expect

from tests.browser.test_checkout import fill_in, place_order
from tests.browser.test_journey import Visit, journey, main
from tests.containers.compose_shop import Shop

pytestmark = [pytest.mark.container, pytest.mark.timeout(1500)]


def test_up_says_where_the_shop_and_its_mailbox_are(shop: Shop) -> None:
    assert f"Mosaic is ready: {shop.url}" in shop.output
    assert f"Dev mailbox: {shop.mailbox}" in shop.output
    # Every process type of every service has its container, and each one-shot succeeded.
    states = {
        name: shop.deployment.engine.run(
            "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name, capture=True
        ).stdout.split()
        for service in shop.deployment.services()
        for name in _containers(shop, service.name, service.processes, service.release)
    }
    for name, (status, code) in states.items():
        one_shot = name.rsplit("_", 1)[0].endswith(("-release", "provision"))
        assert (status, code) == (("exited", "0") if one_shot else ("running", "0")), name


def test_status_runs_every_healthcheck_and_all_are_healthy(shop: Shop) -> None:
    def all_healthy() -> bool:
        status = shop.mosaic("status", timeout=120)
        rows = [line.split() for line in status.stdout.splitlines()[1:] if line.strip()]
        running = [row for row in rows if row[1] == "Up"]
        jobs = tuple(f"{s.name}-{j.name}_1" for s in shop.deployment.services() for j in s.jobs)
        jobs += ("_backup_1",)  # the daily backup's scheduler: no ops port either
        checked = [row for row in running if not row[0].endswith(jobs)]  # no ops port
        return status.returncode == 0 and all("healthy" in row for row in checked)

    # Each service's /readyz checks its own backing services: all ready shortly after up.
    wait_until(all_healthy, 60, "every running container healthy in `mosaic deploy compose status`")
    status = shop.mosaic("status", timeout=120).stdout
    assert re.search(rf"{shop.project}_frontend_1\s+Up [^\n]*ago\s+healthy\s", status), status
    assert re.search(rf"{shop.project}_catalog-release_1\s+Exited \(0\)", status), status


def _containers(
    shop: Shop, service: str, processes: dict[str, str], release: str | None
) -> list[str]:
    names = [service if kind == "web" else f"{service}-{kind}" for kind in processes]
    names += [f"{service}-release"] if release else []
    found = [c for name in names for c in shop.deployment.containers(name)]
    assert len(found) == len(names), (service, names, found)
    return found


def test_a_shopper_signs_up_and_checks_out_in_the_containerized_shop(
    shop: Shop, browser: Browser, artifacts: Path
) -> None:
    """Browse, fill the cart, sign up (the link from the mailbox), sign in again, check out
    with 4242..., and the confirmation e-mail arrives: the journey of the browser tests,
    against the frontend container, every call between containers over mutual TLS."""
    with Visit(browser, shop.url, artifacts, "containers") as visit:
        page = visit.page
        journey(visit, shop.mail)  # ends signed in, two products in the cart
        main(page).get_by_role("link", name="Checkout").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
        email = f"containers-{uuid.uuid4().hex[:10]}@example.com"
        fill_in(page, email, "4242 4242 4242 4242")
        place_order(page)
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text("Thank you, your order is confirmed", timeout=60_000)
        visit.snap("confirmed")
        visit.check_quiet()

    def confirmation() -> bool:
        return any(email in m["to"] and re.search("order", m["subject"], re.I) for m in shop.mail())

    wait_until(confirmation, 60, f"the order confirmation mailed to {email}")


def test_a_killed_catalog_comes_back_and_pages_are_served_again(shop: Shop) -> None:
    engine = shop.deployment.engine
    (catalog,) = shop.deployment.containers("catalog")
    pid = _pid(engine, catalog)
    os.kill(pid, signal.SIGKILL)  # its process dies, as in a crash: no goodbye
    wait_until(lambda: _pid(engine, catalog) not in (0, pid), 60, "the catalog container restarted")

    def served() -> bool:
        answer = httpx.get(f"{shop.url}/search", params={"q": "mug"}, timeout=10)
        return answer.status_code == 200 and "/product/" in answer.text

    wait_until(served, 60, "search results from the restarted catalog")


def _pid(engine: Engine, container: str) -> int:
    done = engine.run("inspect", "--format", "{{.State.Pid}}", container, capture=True)
    return int(done.stdout.strip())


def test_two_catalogs_both_serve_requests(shop: Shop) -> None:
    up = shop.mosaic("up", "--port", shop.url.rsplit(":", 1)[1], "--mail-port",
                     shop.mailbox.rsplit(":", 1)[1], "--scale", "catalog=2")  # fmt: skip
    assert up.returncode == 0, up.stdout + up.stderr
    replicas = shop.deployment.containers("catalog")
    assert len(replicas) == 2
    before = {replica: _requests(shop, replica) for replica in replicas}

    def search(word: str) -> int:
        return httpx.get(f"{shop.url}/search", params={"q": word}, timeout=10).status_code

    def both_served() -> bool:
        # Searches the catalog's cache has not seen, 16 at a time: the frontend opens more
        # connections, each to whichever address `catalog` resolves to.
        with ThreadPoolExecutor(16) as pool:
            words = [uuid.uuid4().hex[:8] for _ in range(32)]
            assert set(pool.map(search, words)) == {200}
        return all(_requests(shop, replica) > before[replica] for replica in replicas)

    wait_until(both_served, 120, "requests in the logs of both catalog replicas")


def _requests(shop: Shop, container: str) -> int:
    """The requests its API served, as its log counts them."""
    done = shop.deployment.engine.run("logs", container, capture=True)
    return (done.stdout + done.stderr).count('"event":"request"')


def test_down_removes_every_container_network_and_volume(shop: Shop) -> None:
    down = shop.mosaic("down", timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr
    shop.down = True
    assert shop.deployment.leftovers() == []
