"""A worker process (a relay, a consumer) imports neither FastAPI nor the API server: each
of the shop's three held about 22 MiB more RSS for them, and paid their import at start."""

import subprocess
import sys


def test_a_worker_imports_no_web_framework() -> None:
    probe = (
        "import sys, chassis.worker, chassis.outbox, chassis.events\n"
        "print(sorted(m for m in ('fastapi', 'chassis.server', 'jinja2') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
