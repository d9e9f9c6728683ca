"""The browser tests' fixtures: one `mosaic up` per module, Debian's Chromium driven through
Playwright's sync API, and the folder its screenshots go to.

Our own fixtures rather than pytest-playwright's: we launch a browser binary of our own
choosing with our own flags, and need neither its per-test pages nor its command line.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from mosaic.chromium import HEADLESS_ARGS, chromium_path, is_executable
from mosaic.ports import free_port
from mosaic_testing import UpProcess, up_args
from playwright.sync_api import Browser, sync_playwright

CHROMIUM_ARGS = list(HEADLESS_ARGS)  # mosaic.chromium says why each

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def up(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UpProcess]:
    """A whole shop under `mosaic up`, on its own home and a free port, ready.

    As separate processes, unless a module runs its tests in each of `mosaic_testing.MODES`:
    `pytestmark = pytest.mark.parametrize("up", MODES, indirect=True)`."""
    mode = getattr(request, "param", "processes")
    with UpProcess(tmp_path_factory.mktemp("mosaic-home"), free_port(), *up_args(mode)) as up:
        up.wait_ready(timeout=180)
        yield up


@pytest.fixture(scope="module")
def shop(up: UpProcess) -> str:
    """The shop's base URL."""
    return up.wait_ready()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if not is_executable(path):
        pytest.fail(
            f"no Chromium at {path}: `./mosaic test` installs Debian's chromium, or install it "
            "with `apt-get install -y --no-install-recommends chromium`, or set "
            "MOSAIC_CHROMIUM to a Chromium or Chrome executable",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """`$MOSAIC_ARTIFACTS`, else test-artifacts/browser/ in the repo (git-ignored); emptied of
    our own screenshots once per session, so every module's pictures of this run stay."""
    folder = Path(os.environ.get("MOSAIC_ARTIFACTS") or REPO_ROOT / "test-artifacts" / "browser")
    folder.mkdir(parents=True, exist_ok=True)
    # Only our own screenshots from an earlier run: the folder may hold others' artifacts.
    for stale in folder.glob("*.png"):
        if stale.name.startswith(("journey-", "no-js-", "checkout-", "dashboard-")):
            stale.unlink()
    return folder
