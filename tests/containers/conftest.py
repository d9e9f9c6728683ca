"""The container stage: the images, and the whole shop from them under compose, on the real
engine of this machine (podman here; Docker where it runs).

Skipped, with one line saying why, where no container engine works (`mosaic test` installs
podman first where it can: as root with apt-get). Never beside the browser tests of the
main run: creating container networks while Chromium runs makes it fail pages with
ERR_NETWORK_CHANGED. `mosaic test` runs this folder as a stage of its own, after the rest.
"""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mosaic import images
from mosaic.engine import Engine, find_engine
from mosaic.errors import MosaicError

from tests.browser.conftest import artifacts, browser  # noqa: F401 - fixtures used here too

ROOT = Path(__file__).resolve().parents[2]
BUILD_SECONDS = 1200  # a fresh machine: the base from Debian's packages, then 11 images


@pytest.fixture(scope="session")
def engine() -> Engine:
    try:
        return find_engine(None, ROOT)
    except MosaicError as error:
        pytest.skip(f"no container engine: {error.message}")


@pytest.fixture(scope="session")
def tag(engine: Engine) -> Iterator[str]:
    """This revision's images, built by `mosaic images build` if any is missing (on the
    local base, made from Debian's packages when there is none: no registry here)."""
    revision = images.Revision.of(ROOT).tag
    packages = images.packages(ROOT)
    if any(not engine.has_image(images.image(p.name, revision)) for p in packages):
        argv = [sys.executable, "-m", "mosaic", "images", "build"]
        if not all(
            engine.has_image(b) for b in (images.LOCAL_BASE, images.build_base(images.LOCAL_BASE))
        ):
            argv.append("--make-base")
        done = subprocess.run(
            argv, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_SECONDS, check=False
        )
        assert done.returncode == 0, f"mosaic images build failed:\n{done.stderr[-4000:]}"
    for package in packages:
        assert engine.has_image(images.image(package.name, revision)), package.name
    yield revision
