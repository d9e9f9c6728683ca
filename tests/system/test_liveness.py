"""The whole shop under `mosaic up` with the default probe numbers (mosaic.probes): one of
catalog's two replicas SIGSTOPped is killed and restarted by the runner within its liveness
probe's patience, `mosaic status` says why, and the shop serves product pages afterwards.
While it is paused the other replica keeps serving; how many pages failed meanwhile (the
frontend's pooled connections to the paused one wait for their deadline) is measured and
printed, not asserted: the runner restarts, it does not route around (docs/operations.md)."""

import os
import re
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from mosaic.ports import free_port
from mosaic.probes import LIVENESS
from mosaic_testing import UpProcess, mosaic, serves, wait_until

pytestmark = pytest.mark.system

PRODUCT_LINK = re.compile(r'href="/product/([a-z0-9]+(?:-[a-z0-9]+)*)"')
RESTART_SECONDS = 45  # after the kill: backoff 0.5 s, catalog's start (slow on a busy machine)


def page_answers(url: str) -> bool:
    return serves(url, timeout=10)


def test_a_paused_replica_is_killed_restarted_and_the_shop_serves(tmp_path: Path) -> None:
    defaults = f"{LIVENESS.period:g},{LIVENESS.timeout:g},{LIVENESS.failures}"  # not the tests'
    with UpProcess(tmp_path / "home", free_port(), "--scale", "catalog=2",
                   extra_env={"MOSAIC_LIVENESS": defaults}) as up:  # fmt: skip
        url = up.wait_ready(timeout=120)
        product = f"{url}/product/{PRODUCT_LINK.findall(httpx.get(url, timeout=10).text)[0]}"
        assert page_answers(product)
        paused, other = up.processes()["catalog.web.2"], up.processes()["catalog.web.1"]
        logged = len(up.lines)
        os.kill(paused["pid"], signal.SIGSTOP)
        stopped_at = time.monotonic()

        pages: list[bool] = []  # product pages while it is paused, one after another
        loading = threading.Event()
        loading.set()

        def load() -> None:
            while loading.is_set():
                pages.append(page_answers(product))

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        try:
            killed = up.wait_for_line(
                lambda line: "catalog.web.2 is not answering its liveness probe for" in line,
                timeout=LIVENESS.patience + 10,
                what="the runner killing the paused catalog.web.2",
                after=logged,
            )
            detected = time.monotonic() - stopped_at
        finally:
            loading.clear()
            loader.join(15)
        print(
            f"paused catalog.web.2: killed after {detected:.1f} s; "
            f"pages meanwhile {pages.count(True)} ok, {pages.count(False)} failed"
        )
        assert "killing it (SIGKILL)" in killed

        def restarted() -> bool:
            now = up.processes()["catalog.web.2"]
            return now["pid"] not in (None, paused["pid"]) and now["state"] == "ready"

        wait_until(restarted, timeout=RESTART_SECONDS, what="catalog.web.2 restarted and ready")
        now = up.processes()
        assert now["catalog.web.2"]["restarts"] == 1
        assert "not answering its liveness probe" in now["catalog.web.2"]["reason"]
        assert now["catalog.web.1"]["pid"] == other["pid"]
        status = mosaic("status", env=up.env)
        assert "catalog.web.2 last was killed by SIGKILL: not answering" in status.stdout

        # Afterwards every page answers, through either replica.
        wait_until(lambda: page_answers(product), timeout=10, what="the product page again")
        assert all(page_answers(product) for _ in range(20))
        assert all(page_answers(url + "/") for _ in range(5))
