"""`mosaic up` with a throwaway service that sends mail, publishes events and has scheduled
jobs: SMTP_URL / BROKER_URL only where listed, the dev mailbox, jobs on schedule, one run
at a time, failures retried, `mosaic admin run`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from mosaic.ports import free_port
from mosaic_testing import UpProcess, mosaic, wait_until

DEMO_APP = Path(__file__).parent / "demo_services" / "demo_app.py"

# Sends one mail per run (SMTP_URL from the runner), logs its start and end, fails on its
# first run, and takes longer than its interval.
TICK = """
import os, smtplib, sys, time
from email.message import EmailMessage
from urllib.parse import urlsplit

log = os.environ["TICK_LOG"]
runs = open(log).read().count("start") if os.path.exists(log) else 0
with open(log, "a") as f:
    f.write(f"start {os.environ['MOSAIC_PROCESS']} {os.environ['MOSAIC_SERVICE']}\\n")
print(f"tick run {runs}", flush=True)
smtp = urlsplit(os.environ["SMTP_URL"])
message = EmailMessage()
message["From"], message["To"], message["Subject"] = "shop@mosaic.test", "a@b.test", f"tick {runs}"
message.set_content("hello")
with smtplib.SMTP(smtp.hostname, smtp.port, timeout=10) as client:
    client.send_message(message)
time.sleep(1.5)
with open(log, "a") as f:
    f.write("end\\n")
sys.exit(3 if runs == 0 else 0)
"""


def write_services(root: Path) -> Path:
    services = root / "services"
    shop = services / "shop"
    shop.mkdir(parents=True)
    (shop / "tick.py").write_text(TICK)
    (shop / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "0"\n\n[tool.mosaic]\n'
        'backing = ["smtp", "broker"]\n\n[tool.mosaic.jobs]\n'
        f'tick = {{ command = "{sys.executable} tick.py", every = 1 }}\n'
        "fail = { command = 'python -c \"raise SystemExit(5)\"', every = 3600 }\n"
    )
    (shop / "Procfile").write_text(f"web: python {DEMO_APP}\n")
    front = services / "front"
    front.mkdir()
    (front / "pyproject.toml").write_text(
        '[project]\nname = "front"\nversion = "0"\n\n[tool.mosaic]\ncalls = ["shop"]\nedge = true\n'
    )
    (front / "Procfile").write_text(f"web: python {DEMO_APP}\n")
    return services


def get_json(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def test_mail_events_and_jobs(tmp_path: Path) -> None:
    services, log = write_services(tmp_path), tmp_path / "tick.log"
    home = tmp_path / "home"
    mail_port = free_port()
    env = {"MOSAIC_SERVICES_DIR": str(services), "TICK_LOG": str(log), "SMTP_URL": "x"}
    runner = UpProcess(
        home, free_port(), "--transport", "mesh", "--mail-port", str(mail_port), extra_env=env
    )
    with runner:
        front = get_json(runner.wait_ready(90))["env"]
        ready_at = runner.lines.index(next(x for x in runner.lines if "Mosaic is ready" in x))
        assert runner.lines[ready_at + 1] == f"Dev mailbox: http://127.0.0.1:{mail_port}"
        assert not {"SMTP_URL", "BROKER_URL"} & set(front)  # only where listed
        shop = get_json(front["SHOP_URL"])["env"]
        assert urlsplit(shop["SMTP_URL"]).hostname == "127.0.0.1"
        assert shop["SMTP_URL"] != "x"  # never inherited
        assert urlsplit(shop["BROKER_URL"]).username == "broker.shop"
        assert runner.status()["mailbox"] == f"http://127.0.0.1:{mail_port}"
        status = mosaic("status", env=runner.env)
        assert f"Dev mailbox: http://127.0.0.1:{mail_port}" in status.stdout

        mailbox = f"http://127.0.0.1:{mail_port}/messages.json"
        wait_until(
            lambda: len(get_json(mailbox)["messages"]) >= 3, timeout=60, what="three tick mails"
        )
        assert "shop.tick exited with code 3; it runs again in" in runner.output
        assert "shop.tick" in runner.output and "tick run 1" in runner.output
        lines = log.read_text().splitlines()
        starts = [line for line in lines if line.startswith("start")]
        assert starts[0] == "start tick shop"  # MOSAIC_PROCESS is the job's name
        # never two runs at once: every start is followed by its end before the next start
        assert all(a.startswith("start") for a in lines[0::2])
        assert all(b == "end" for b in lines[1::2])

        now = mosaic("admin", "run", "shop", "fail", env=runner.env, timeout=60)
        assert now.returncode == 5, now.stderr
        ran = mosaic("admin", "run", "shop", "tick", env=runner.env, timeout=60)
        assert ran.returncode == 0, ran.stderr
        assert "tick run" in ran.stdout
        unknown = mosaic("admin", "run", "shop", "nope", env=runner.env)
        assert unknown.returncode == 2
        assert "fail" in unknown.stderr and "tick" in unknown.stderr
        subjects = {m["subject"] for m in get_json(mailbox)["messages"]}
    assert runner.process is not None and runner.process.returncode == 0

    not_running = mosaic("admin", "run", "shop", "tick", env=runner.env)
    assert not_running.returncode == 1
    assert "not running" in not_running.stderr
    assert len(list((home / "mailbox").glob("*.eml"))) >= len(subjects)  # kept for next time
    assert json.loads((home / "run" / "state.json").read_text())["mailbox"] is not None
