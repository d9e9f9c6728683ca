"""`mosaic admin dead-letters` as a command: clear answers to a wrong command line or a
shop that is not running (the real listing and replay: tests/system/test_event_retention.py)."""

import os
from pathlib import Path

import pytest
from mosaic.ports import free_port
from mosaic_testing import mosaic


def env_for(home: Path) -> dict[str, str]:
    env = {**os.environ, "MOSAIC_HOME": str(home)}
    env.pop("MOSAIC_REDIS_URL", None)
    return env


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["list"], 1, "Mosaic is not running"),
        (["replay"], 1, "Mosaic is not running"),
        (["list", "--stream", "nope"], 2, "no service consumes events of 'nope'"),
        (["retry-outbox", "catalog", "all"], 2, "'catalog' has no outbox job"),
        (["retry-outbox", "orders", "all"], 1, "orders is not running"),
        (["retry-outbox", "accounts", "all"], 1, "accounts is not running"),  # a producer too
        (
            ["list", "--redis-url", f"redis://admin:x@127.0.0.1:{free_port()}/0"],
            1,
            "cannot reach the broker",
        ),
    ],
)
def test_dead_letters_explains_what_is_wrong(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    result = mosaic("admin", "dead-letters", *args, env=env_for(tmp_path))
    assert result.returncode == code, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_dead_letters_explains_itself() -> None:
    for command in ([], ["list"], ["replay"], ["retry-outbox"]):
        result = mosaic("admin", "dead-letters", *command, "--help", env=os.environ)
        assert result.returncode == 0
        assert "Usage:" in result.stdout
