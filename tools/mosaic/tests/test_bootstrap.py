"""The `./mosaic` bootstrap script: a first run says what it installs and shows uv's progress.

The script runs for real in a copy of itself, with a stand-in uv (a shell script that records
its arguments and makes the `.venv/bin/mosaic` a sync would): no network, no install.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
UV_VERSION = re.search(r"^UV_VERSION=(\S+)$", (ROOT / "mosaic").read_text(), re.M)


def _checkout(tmp_path: Path) -> Path:
    assert UV_VERSION is not None
    shutil.copy(ROOT / "mosaic", tmp_path / "mosaic")
    uv = tmp_path / ".tools" / "uv" / "bin" / "uv"
    uv.parent.mkdir(parents=True)
    uv.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = --version ] && {{ echo "uv {UV_VERSION[1]}"; exit 0; }}\n'
        f'echo "$@" >> "{tmp_path}/uv-calls"\n'
        f'mkdir -p "{tmp_path}/.venv/bin"\n'
        f'ln -sf "{sys.executable}" "{tmp_path}/.venv/bin/python"\n'
        f'printf \'#!/bin/sh\\necho "mosaic ran: $*"\\n\' > "{tmp_path}/.venv/bin/mosaic"\n'
        f'chmod +x "{tmp_path}/.venv/bin/mosaic"\n'
    )
    uv.chmod(0o755)
    return tmp_path


def _run(checkout: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(checkout / "mosaic"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
    )


def test_the_first_run_says_it_installs_and_lets_uv_show_its_progress(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    first = _run(checkout)
    assert "installing the workspace from uv.lock into .venv" in first.stderr
    sync = (checkout / "uv-calls").read_text().splitlines()
    assert len(sync) == 1 and sync[0].startswith("sync ")
    assert "--quiet" not in sync[0].split()  # uv's own progress shows
    assert first.stdout == "mosaic ran: --help\n"

    again = _run(checkout)
    assert "installing" not in again.stderr  # nothing to say when the venv is there
    assert "--quiet" in (checkout / "uv-calls").read_text().splitlines()[1].split()
