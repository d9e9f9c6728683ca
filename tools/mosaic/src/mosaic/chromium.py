"""The browser the browser tests drive: Debian's `chromium`, installed with apt-get if missing.

Playwright's own `playwright install` downloads a browser build from outside the package
registries, which our machines cannot reach; Debian's package is the browser we can have.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from mosaic.errors import MosaicError

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
APT_INSTALL = ("apt-get", "install", "-y", "--no-install-recommends", "chromium")
APT_UPDATE = ("apt-get", "update")

Run = Callable[[Sequence[str]], int]
Say = Callable[[str], None]


# Headless Chromium as root in a container, and quiet: nothing it fetches on its own
# (updates, sync, QUIC probes) may reach outside the machine. The browser tests' and
# bench/dashboard_screenshot.py's flags.
HEADLESS_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path(environ: Mapping[str, str] = os.environ) -> Path:
    """`$MOSAIC_CHROMIUM` (any Chromium or Chrome executable), else Debian's chromium."""
    return Path(environ.get("MOSAIC_CHROMIUM") or DEBIAN_CHROMIUM)


def is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def ensure_chromium(
    path: Path,
    *,
    apt_get: bool,
    root: bool,
    run: Run,
    say: Say,
    installs_to: Path = DEBIAN_CHROMIUM,
) -> None:
    """Return when `path` is an executable; install it with apt-get when we can.

    Raises MosaicError with what to do when it is missing and we cannot install it here.
    """
    if is_executable(path):
        return
    if path != installs_to:
        raise MosaicError(
            f"MOSAIC_CHROMIUM is {path}, which is not an executable file.",
            "Point it at a Chromium or Chrome executable, or unset it to use Debian's "
            f"chromium ({installs_to}).",
        )
    if why := apt_unusable(apt_get=apt_get, root=root):
        raise MosaicError(
            f"The browser tests need Chromium at {path}; it is missing and {why}.",
            "Install it, e.g. `sudo apt-get install -y --no-install-recommends chromium` on "
            "Debian or Ubuntu, or set MOSAIC_CHROMIUM to a Chromium or Chrome executable.",
        )
    say(f"Chromium is missing: installing it with `{' '.join(APT_INSTALL)}` (about 20 s)")
    if not apt_install(APT_INSTALL, run, say):
        raise MosaicError(
            "apt-get could not install chromium (its output is above).",
            f"Install it by hand: `{' '.join(APT_INSTALL)}`.",
        )
    if not is_executable(path):
        raise MosaicError(
            f"apt-get installed chromium, but {path} is still not an executable file.",
            "Set MOSAIC_CHROMIUM to the chromium executable it installed.",
        )
    say(f"Installed Chromium at {path}")


def apt_unusable(*, apt_get: bool, root: bool) -> str | None:
    """Why apt-get cannot install a package here; None when it can."""
    if not apt_get:
        return "apt-get is not available"
    return None if root else "this is not running as root"


def apt_install(install: Sequence[str], run: Run, say: Say) -> bool:
    """Run an `apt-get install` command; whether it succeeded. On a fresh machine apt has
    no package lists yet (or stale ones whose files are gone from the mirror): refresh
    them and try once more."""
    if run(install) == 0:
        return True
    say(f"apt-get could not install it; refreshing the lists with `{' '.join(APT_UPDATE)}`")
    return run(APT_UPDATE) == 0 and run(install) == 0


def run_apt_get(command: Sequence[str]) -> int:
    """Run an apt-get command with its progress on our terminal; never asks a question."""
    environ = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(command, env=environ, stdin=subprocess.DEVNULL, check=False)
    return done.returncode


def ensure_chromium_here(say: Say) -> Path:
    """ensure_chromium on this machine; returns the browser's path."""
    path = chromium_path()
    ensure_chromium(
        path,
        apt_get=shutil.which("apt-get") is not None,
        root=os.geteuid() == 0,
        run=run_apt_get,
        say=say,
    )
    return path
