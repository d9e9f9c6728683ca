"""A job's schedule in [tool.mosaic.jobs]: exactly one of `cron` (five fields, UTC) or
`every` (seconds); anything else is one line naming the service and job, and what to write.
The same declaration drives compose's scheduler and the Kubernetes CronJob."""

from __future__ import annotations

from pathlib import Path

import pytest
from mosaic.errors import MosaicError
from mosaic.schedules import cron_schedule, period_minutes
from mosaic.services import Job, discover_services


def _service(root: Path, jobs: str) -> Path:
    folder = root / "shop"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "shop"\n\n[tool.mosaic]\nbacking = ["postgres"]\n\n'
        f"[tool.mosaic.jobs]\n{jobs}\n"
    )
    (folder / "Procfile").write_text("web: a\n")
    return root


def test_cron_and_every_are_read(tmp_path: Path) -> None:
    root = _service(
        tmp_path,
        'purge = { command = "python -m shop.jobs purge", cron = "15 3 * * *" }\n'
        'recover = { command = "python -m shop.jobs recover", every = 30 }',
    )
    (shop,) = discover_services(root)
    assert shop.jobs == (
        Job("purge", "python -m shop.jobs purge", None, "15 3 * * *"),
        Job("recover", "python -m shop.jobs recover", 30.0),
    )
    assert [j.schedule for j in shop.jobs] == ["cron 15 3 * * *", "every 30 s"]


@pytest.mark.parametrize(
    ("declaration", "reason"),
    [
        ('{ command = "x", cron = "0 3 * *" }', "'0 3 * *' has 4 fields, not 5"),
        ('{ command = "x", cron = "0 25 * * *" }', "'0 25 * * *' is not a cron expression"),
        ('{ command = "x", every = 0 }', "every = 0 is not 1 to 86400 seconds"),
        ('{ command = "x", every = 30, cron = "* * * * *" }', "exactly one of cron or every"),
        ('{ command = "x" }', "exactly one of cron or every"),
    ],
)
def test_a_bad_schedule_says_which_job_and_what_to_write(
    tmp_path: Path, declaration: str, reason: str
) -> None:
    with pytest.raises(MosaicError) as raised:
        discover_services(_service(tmp_path, f"purge = {declaration}"))
    message = raised.value.message
    assert "tool.mosaic.jobs.purge" in message and str(tmp_path / "shop") in message
    assert reason in message
    assert "\n" not in message
    assert 'cron = "MIN HOUR DAY MONTH WEEKDAY"' in str(raised.value.hint)


def test_where_only_cron_exists_the_schedule_is_the_cron_or_every_in_minutes() -> None:
    assert cron_schedule("0 3 * * *", None) == "0 3 * * *"
    assert cron_schedule(None, 30) == "*/1 * * * *"  # a CronJob's best: once a minute
    assert period_minutes("0 3 * * *", None) == 24 * 60
    assert period_minutes("*/5 * * * *", None) == 5
