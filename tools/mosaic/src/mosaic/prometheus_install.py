"""The Prometheus the scrape test starts: Debian's `prometheus`, installed with apt-get if
missing (as `mosaic test` installs chromium). The package also holds promtool.

Never fails `mosaic test`: without it the scrape test skips and says why (`missing`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from mosaic.chromium import Run, Say, apt_install, is_executable, run_apt_get

DEBIAN_PROMETHEUS = Path("/usr/bin/prometheus")
APT_INSTALL = ("apt-get", "install", "-y", "--no-install-recommends", "prometheus")


def prometheus_path(environ: Mapping[str, str] = os.environ) -> Path:
    """`$MOSAIC_PROMETHEUS` (any Prometheus server executable), else Debian's."""
    return Path(environ.get("MOSAIC_PROMETHEUS") or DEBIAN_PROMETHEUS)


def missing(path: Path) -> str | None:
    """Why the scrape test cannot run (None when it can)."""
    if is_executable(path):
        return None
    return (
        f"Prometheus is not installed at {path}: `mosaic test` installs Debian's package "
        f"as root (`{' '.join(APT_INSTALL)}`), or set MOSAIC_PROMETHEUS to a prometheus binary"
    )


def ensure_prometheus(path: Path, *, apt_get: bool, root: bool, run: Run, say: Say) -> str:
    """Install Debian's prometheus when it is missing and we can; what we found, in words."""
    if is_executable(path):
        return f"using {path}"
    if path != DEBIAN_PROMETHEUS or not (apt_get and root):
        return f"the Prometheus scrape test will skip: {missing(path)}"
    say(f"Prometheus is missing: installing it with `{' '.join(APT_INSTALL)}`")
    if not apt_install(APT_INSTALL, run, say):
        return "apt-get could not install prometheus (its output is above); the test will skip"
    return f"installed {path}" if is_executable(path) else f"{path} is still missing"


def ensure_prometheus_here(say: Say) -> str:
    return ensure_prometheus(
        prometheus_path(),
        apt_get=shutil.which("apt-get") is not None,
        root=os.geteuid() == 0,
        run=run_apt_get,
        say=say,
    )
