"""The secret scan of `mosaic test` (mosaic_testing.secret_scan), on a repository of its own:
a planted secret fails it; a reviewed false positive with a reason passes; a review without
a reason, or of something no longer there, fails. This repository itself is scanned by a
static step of `mosaic test` (checks.py), not again here: 45 s of CI's time."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from mosaic_testing.secret_scan import BASELINE, main, scan, tracked_files

ROOT = Path(__file__).resolve().parents[3]
# Built here, never written whole in a tracked file: the scan of this repository would
# find it (AWS's documented example key id, and a private key's armour).
AWS_KEY_ID = "AKIA" + "IOSFODNN7" + "EXAMPLE"
ARMOUR = "RSA PRIVATE KEY-----"
PRIVATE_KEY = f"-----BEGIN {ARMOUR}\nMIIEowIBAAKCAQEA\n-----END {ARMOUR}"


def repository(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=folder, check=True, capture_output=True)
    return folder


def review(folder: Path, reason: str) -> None:
    """Write the baseline entry the failing scan proposes, with `reason`."""
    found = scan(folder, tracked_files(folder))
    entries = [f.entry(reason) for f in found]
    (folder / BASELINE).write_text(json.dumps({"reviewed": entries}))
    subprocess.run(["git", "add", BASELINE], cwd=folder, check=True)


@pytest.mark.parametrize(
    "planted",
    [f'AWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"\n', PRIVATE_KEY + "\n"],
    ids=["aws key", "private key"],
)
def test_a_planted_secret_fails_the_step(
    tmp_path: Path, planted: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repository(tmp_path, {"app.py": "print('hello')\n", "config/keys.py": planted})

    assert main([str(repo)]) == 1

    told = capsys.readouterr().err
    assert "config/keys.py:" in told
    assert f"goes into {BASELINE}" in told  # and what to do about it
    assert AWS_KEY_ID not in told and "MIIE" not in told  # never the secret itself


def test_a_clean_repository_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = repository(tmp_path, {"app.py": "print('hello')\n"})
    assert main([str(repo)]) == 0
    assert "no secrets in 1 tracked files" in capsys.readouterr().out


def test_a_reviewed_false_positive_passes_only_with_its_reason(tmp_path: Path) -> None:
    repo = repository(tmp_path, {"tests/test_x.py": 'PASSWORD = "plum-kettle-orbit-42"\n'})
    assert main([str(repo)]) == 1

    review(repo, "")
    assert main([str(repo)]) == 1  # reviewed, but not explained

    review(repo, "a made-up password of a test")
    assert main([str(repo)]) == 0


def test_a_review_of_what_is_gone_fails(tmp_path: Path) -> None:
    repo = repository(tmp_path, {"tests/test_x.py": 'PASSWORD = "plum-kettle-orbit-42"\n'})
    review(repo, "a made-up password of a test")
    (repo / "tests/test_x.py").write_text("PASSWORD = None\n")

    assert main([str(repo)]) == 1


def test_an_untracked_file_is_not_scanned(tmp_path: Path) -> None:
    """Only what git tracks: a developer's local .env is not the repository's."""
    repo = repository(tmp_path, {"app.py": "print('hello')\n"})
    (repo / ".env").write_text(f'AWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"\n')
    assert main([str(repo)]) == 0
