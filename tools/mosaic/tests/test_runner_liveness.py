"""`mosaic up` against the stand-in services (demo_services/), as real processes: a replica
that falls silent, SIGSTOPped or wedged (its event loop blocked: it accepts, never answers),
is SIGKILLed and restarted by the runner, says why in its log and `mosaic status`, and the
service answers afterwards. Fast liveness numbers (MOSAIC_LIVENESS) keep it short; the
shop's own test (tests/system/test_liveness.py) runs with the default ones."""

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from mosaic.ports import free_port
from mosaic_testing import UpProcess, mosaic, wait_until

from tools.mosaic.tests.test_runner import DEMO, get_json

FAST = "0.5,0.5,3"  # MOSAIC_LIVENESS: PERIOD,TIMEOUT,FAILURES; silent for 1.5-2 s is dead
WITHIN = 20  # seconds: detection (about 2 s), the kill, a restart after 0.5 s, readiness


def replaced(runner: UpProcess, name: str, old_pid: int) -> dict[str, Any] | None:
    now = runner.processes()[name]
    fresh = now["pid"] not in (None, old_pid) and now["state"] == "ready"
    return now if fresh else None


@pytest.mark.parametrize(("how", "sig"), [("paused", signal.SIGSTOP), ("wedged", signal.SIGUSR1)])
def test_a_silent_replica_is_killed_and_restarted(
    tmp_path: Path, how: str, sig: signal.Signals
) -> None:
    env = {"MOSAIC_SERVICES_DIR": str(DEMO), "MOSAIC_LIVENESS": FAST}
    with UpProcess(tmp_path, free_port(), "--scale", "back=2", extra_env=env) as runner:
        front = get_json(runner.wait_ready())
        back_url = front["env"]["BACK_URL"]
        silent = runner.processes()["back.web.2"]
        other = runner.processes()["back.web.1"]
        os.kill(silent["pid"], sig)
        logged = len(runner.lines)

        wait_until(
            lambda: replaced(runner, "back.web.2", silent["pid"]) is not None,
            timeout=WITHIN,
            what=f"the {how} back.web.2 replaced by a ready process",
        )
        runner.wait_for_line(
            lambda line: (
                "back.web.2 is not answering its liveness probe for" in line
                and "killing it (SIGKILL)" in line
            ),
            timeout=1,
            what="the runner's line saying why it killed back.web.2",
            after=logged,
        )
        now = runner.processes()
        assert now["back.web.2"]["restarts"] == 1
        assert now["back.web.2"]["reason"].startswith(
            "was killed by SIGKILL: not answering its liveness probe for "
        )
        assert now["back.web.1"]["pid"] == other["pid"]  # the answering replica: untouched
        assert now["back.web.1"]["restarts"] == 0
        table = mosaic("status", env=runner.env)
        said = "back.web.2 last was killed by SIGKILL: not answering its liveness probe for"
        assert said in table.stdout, table.stdout

        # Both replicas answer again: each new connection lands on either (SO_REUSEPORT).
        pids = {get_json(back_url, tmp_path)["pid"] for _ in range(20)}
        assert pids <= {now["back.web.1"]["pid"], now["back.web.2"]["pid"]}


def test_liveness_off_leaves_a_paused_replica_alone(tmp_path: Path) -> None:
    env = {"MOSAIC_SERVICES_DIR": str(DEMO), "MOSAIC_LIVENESS": "off"}
    with UpProcess(tmp_path, free_port(), extra_env=env) as runner:
        runner.wait_ready()
        back = runner.processes()["back.web.1"]
        os.kill(back["pid"], signal.SIGSTOP)
        try:
            wait_until(
                lambda: runner.processes()["back.web.1"]["state"] == "unready",
                timeout=WITHIN,
                what="the paused back.web.1 shown unready",
            )
            assert runner.processes()["back.web.1"]["pid"] == back["pid"]
            assert "not answering its liveness probe" not in runner.output
        finally:
            os.kill(back["pid"], signal.SIGCONT)
        wait_until(
            lambda: runner.processes()["back.web.1"]["state"] == "ready",
            timeout=WITHIN,
            what="back.web.1 ready again once continued",
        )


def test_a_bad_liveness_setting_is_explained(tmp_path: Path) -> None:
    env = {**os.environ, "MOSAIC_HOME": str(tmp_path), "MOSAIC_SERVICES_DIR": str(DEMO)}
    result = mosaic("up", "--port", str(free_port()), env={**env, "MOSAIC_LIVENESS": "fast"})
    assert result.returncode == 1
    assert "MOSAIC_LIVENESS='fast' is not a liveness probe" in result.stderr
    assert "Traceback" not in result.stderr
