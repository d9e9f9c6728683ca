"""The container stage: the images, and the whole shop from them under compose, on the real
engine of this machine (podman here; Docker where it runs).

Skipped, with one line saying why, where no container engine works (`mosaic test` installs
podman first where it can: as root with apt-get). Never beside the browser tests of the
main run: creating container networks while Chromium runs makes it fail pages with
ERR_NETWORK_CHANGED. `mosaic test` runs this folder as a stage of its own, after the rest.
"""

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from mosaic import images
from mosaic.deploy_compose import ComposeDeployment
from mosaic.engine import Engine, find_engine
from mosaic.errors import MosaicError
from mosaic.ports import free_port

from tests.browser.conftest import artifacts, browser  # noqa: F401 - fixtures used here too
from tests.containers.compose_shop import ROOT, Shop

BUILD_SECONDS = 1200  # a fresh machine: the base from Debian's packages, then 11 images
REMOVAL_TEST = "test_down_removes_every_container_network_and_volume"


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


@pytest.fixture(scope="session")
def shop(engine: Engine, tag: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The stage's one deployment under compose (its own project, home and ports), for
    test_compose.py and test_compose_backup.py: one `up` rather than one a module (30 s and
    more on a fresh machine). test_compose.py's last test removes it; else it is removed
    here."""
    home = tmp_path_factory.mktemp("compose-home")
    port, mail_port = free_port(), free_port()
    project = f"mosaic-test-{uuid.uuid4().hex[:6]}"
    deployment = ComposeDeployment(
        ROOT, home, ROOT / "services", engine, lambda line: None, project
    )
    shop = Shop(
        f"http://127.0.0.1:{port}", f"http://127.0.0.1:{mail_port}", project, home, "", deployment
    )
    try:
        up = shop.mosaic("up", "--port", str(port), "--mail-port", str(mail_port))
        shop.output = up.stdout + up.stderr
        assert up.returncode == 0, f"mosaic deploy compose up failed:\n{shop.output[-6000:]}"
        yield shop
    finally:
        if not shop.down:
            shop.mosaic("down", timeout=300)


@pytest.hookimpl(trylast=True)  # after the root conftest's order
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The test that removes the shared deployment runs after every other test using it."""
    last = [item for item in items if item.name == REMOVAL_TEST]
    items[:] = [item for item in items if item.name != REMOVAL_TEST] + last
