"""The whole shop under `mosaic up`, as a user runs it: pages served, a killed process
replaced within seconds, a clean stop that leaves no process behind, data kept across runs."""

import json
import os
import re
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest
from mosaic.ports import free_port
from mosaic_testing import UpProcess, mosaic, serves, wait_until
from mosaic_testing.processes import gone

# Normal mode only: it kills and counts the processes of separate services; the in-process
# mode's start and stop are covered by the system tests that run in both modes.
pytestmark = pytest.mark.system

PRODUCT_LINK = re.compile(r'href="/product/([a-z0-9]+(?:-[a-z0-9]+)*)"')


def test_the_shop_runs_heals_stops_cleanly_and_keeps_its_data(tmp_path: Path) -> None:
    home, port = tmp_path / "mosaic-home", free_port()
    marker = f"Kept across restarts {time.time_ns()}"

    with UpProcess(home, port) as up:
        url = up.wait_ready(timeout=90)
        assert url == f"http://127.0.0.1:{port}"
        front_page = httpx.get(url + "/", timeout=10)
        assert front_page.status_code == 200
        product_id = PRODUCT_LINK.findall(front_page.text)[0]
        product_page = f"{url}/product/{product_id}"
        assert httpx.get(product_page, timeout=10).status_code == 200

        catalog = up.processes()["catalog.web.1"]
        # Catalog's write routes allow only the operator, over mTLS with a service token.
        changed = mosaic(
            "admin",
            "call",
            "catalog",
            f"/v1/products/{product_id}",
            "-X",
            "PATCH",
            "--data",
            json.dumps({"name": marker}),
            env=up.env,
        )
        assert changed.returncode == 0, changed.stderr
        assert marker in httpx.get(product_page, timeout=10).text

        os.kill(catalog["pid"], signal.SIGKILL)

        def replaced() -> bool:
            return up.processes()["catalog.web.1"]["pid"] not in (None, catalog["pid"])

        def ready() -> bool:
            return bool(replaced() and up.processes()["catalog.web.1"]["state"] == "ready")

        # The supervisor's part is the new process, started after its first backoff (0.5 s);
        # how soon that process is ready is Python's start on this machine, which CI shares
        # with another shop's tests (10.8 s there once, 3 s on a quiet machine).
        wait_until(replaced, timeout=5, what="a new catalog.web.1 started")
        wait_until(ready, timeout=30, what="the new catalog.web.1 ready")
        wait_until(lambda: serves(product_page), timeout=10, what="the product page again")
        assert serves(url + "/")

        pids = [p["pid"] for p in up.processes().values() if p["pid"] is not None]
        pids += [child.pid for pid in pids for child in psutil.Process(pid).children(True)]
        assert {"postgres", "valkey", "catalog.web.1", "frontend.web.1"} <= set(up.processes())
        assert up.stop(timeout=60) == 0
        lingering = [pid for pid in pids if not gone(pid)]
        assert not lingering, f"still running after stop: {lingering}"

    with UpProcess(home, port) as again:
        url = again.wait_ready(timeout=60)
        assert marker in httpx.get(f"{url}/product/{product_id}", timeout=10).text
