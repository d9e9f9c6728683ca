"""A process imports what it uses: a worker (a relay, a consumer) neither FastAPI nor the
API server (each of the shop's three held about 22 MiB more RSS for them), and a service
without a database not SQLAlchemy (currency, frontend, recommendations: about 18 MiB), and
a process that logs JSON lines not rich (structlog's terminal tracebacks: 3 MiB each)."""

import json
import os
import subprocess
import sys


def imported(statements: str, modules: tuple[str, ...], **env: str) -> list[str]:
    """Which of `modules` a fresh interpreter holds after running `statements`."""
    held = f"sorted(m for m in {modules!r} if sys.modules.get(m))"
    probe = f"import json, sys\n{statements}\nprint(json.dumps({held}))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    names: list[str] = json.loads(result.stdout)
    return names


def test_a_worker_imports_no_web_framework() -> None:
    statements = "import chassis.worker, chassis.outbox, chassis.events"
    assert imported(statements, ("fastapi", "chassis.server", "jinja2")) == []


def test_an_app_without_a_database_imports_no_sqlalchemy() -> None:
    statements = "from chassis import create_app, serve, ServiceClient"
    assert imported(statements, ("sqlalchemy", "chassis.db", "chassis.job_runs")) == []


def test_a_process_logging_json_imports_no_terminal_renderer() -> None:
    statements = "from chassis import create_app, serve; import chassis.worker"
    assert imported(statements, ("rich", "pygments"), LOG_FORMAT="json") == []
