"""The daily backup's retention (pure): N daily and M weekly backups kept, by their times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mosaic.backup_job import daily_backup
from mosaic.backup_retention import STAMP, Backup, backups_in, prune, to_delete

START = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # a Sunday


def _daily(days: int, root: Path = Path("/b")) -> list[Backup]:
    times = [START + timedelta(days=d) for d in range(days)]
    return [Backup(root / t.strftime(STAMP), t, True) for t in times]


def _names(paths: list[Path]) -> list[str]:
    return [p.name[:10] for p in paths]


def test_keeps_the_last_n_days_and_the_newest_of_the_last_m_weeks() -> None:
    backups = _daily(36)  # 1 Nov .. 6 Dec
    gone = to_delete(backups, daily=7, weekly=4)
    kept = sorted({b.folder for b in backups} - set(gone))
    # the last 7 days (30 Nov .. 6 Dec), and each of the last 4 ISO weeks' newest backup:
    # Sundays 29 Nov, 22 Nov, 15 Nov (6 Dec's week is kept by the days already)
    assert _names(kept) == [
        "2026-11-15", "2026-11-22", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02",
        "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06",
    ]  # fmt: skip


def test_of_two_backups_on_one_day_the_newer_is_kept() -> None:
    morning, evening = START, START + timedelta(hours=12)
    backups = [Backup(Path("/b/m"), morning, True), Backup(Path("/b/e"), evening, True)]
    assert to_delete(backups, daily=1, weekly=0) == [Path("/b/m")]


def test_an_unfinished_backup_goes_only_once_a_later_one_completed() -> None:
    done = _daily(2)
    failed = Backup(Path("/b/failed"), START + timedelta(hours=1), False)
    writing = Backup(Path("/b/writing"), START + timedelta(days=3), False)
    assert to_delete([*done, failed, writing], daily=7, weekly=4) == [Path("/b/failed")]


def test_nothing_to_keep_deletes_every_complete_backup_and_nothing_else() -> None:
    backups = _daily(3)
    assert len(to_delete(backups, daily=0, weekly=0)) == 3
    assert to_delete([], daily=7, weekly=4) == []


def test_prune_deletes_the_folders_and_a_second_run_nothing(tmp_path: Path) -> None:
    for backup in _daily(10, tmp_path):
        backup.folder.mkdir()
        (backup.folder / "manifest.json").write_text("{}")
    (tmp_path / "notes").mkdir()  # not a backup: never touched
    assert len(prune(tmp_path, daily=3, weekly=1)) == 7
    assert len(backups_in(tmp_path)) == 3
    assert prune(tmp_path, daily=3, weekly=1) == []
    assert (tmp_path / "notes").is_dir()


async def test_the_daily_job_prunes_only_after_its_backup_completed(tmp_path: Path) -> None:
    for backup in _daily(10, tmp_path):
        backup.folder.mkdir()
        (backup.folder / "manifest.json").write_text("{}")

    async def fails(folder: Path) -> None:
        folder.mkdir()  # noqa: ASYNC240  # a fake: a tiny folder, in a test
        raise RuntimeError("pg_dump: connection refused")

    with pytest.raises(RuntimeError):
        await daily_backup(fails, tmp_path, START + timedelta(days=10), daily=3, weekly=0)
    assert len(backups_in(tmp_path)) == 11  # the failed one beside all ten

    async def takes(folder: Path) -> None:
        folder.mkdir()  # noqa: ASYNC240  # a fake, as above
        (folder / "manifest.json").write_text("{}")

    now = START + timedelta(days=11)
    folder, gone = await daily_backup(takes, tmp_path, now, daily=3, weekly=0)
    assert folder.name == now.strftime(STAMP)
    assert len(gone) == 9  # 8 of the 10 old ones, and the failed one
    assert sorted(b.folder.name[:10] for b in backups_in(tmp_path)) == [
        "2026-11-09", "2026-11-10", "2026-11-12",
    ]  # fmt: skip
