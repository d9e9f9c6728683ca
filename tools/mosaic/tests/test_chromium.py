"""Whether `mosaic test` installs Chromium, and how it says why not; apt-get is a fake."""

from collections.abc import Sequence
from pathlib import Path

import pytest
from mosaic.chromium import APT_INSTALL, APT_UPDATE, chromium_path, ensure_chromium
from mosaic.errors import MosaicError


class FakeApt:
    """Answers each apt-get command with the next exit code; installing creates the browser."""

    def __init__(self, browser: Path, *codes: int, creates: bool = True) -> None:
        self.browser, self.codes, self.creates = browser, list(codes), creates
        self.commands: list[tuple[str, ...]] = []
        self.said: list[str] = []

    def run(self, command: Sequence[str]) -> int:
        self.commands.append(tuple(command))
        code = self.codes.pop(0)
        if code == 0 and tuple(command) == APT_INSTALL and self.creates:
            self.browser.write_text("#!/bin/sh\n")
            self.browser.chmod(0o755)
        return code

    def ensure(self, *, apt_get: bool = True, root: bool = True, path: Path | None = None) -> None:
        ensure_chromium(
            path or self.browser,
            apt_get=apt_get,
            root=root,
            run=self.run,
            say=self.said.append,
            installs_to=self.browser,
        )


@pytest.fixture
def browser(tmp_path: Path) -> Path:
    return tmp_path / "chromium"


def test_an_installed_browser_is_used_as_it_is(browser: Path) -> None:
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    apt = FakeApt(browser)
    apt.ensure(apt_get=False, root=False)
    assert apt.commands == []
    assert apt.said == []


def test_a_missing_browser_is_installed_with_apt_get_and_said_so(browser: Path) -> None:
    apt = FakeApt(browser, 0)
    apt.ensure()
    assert apt.commands == [APT_INSTALL]
    assert "installing it" in apt.said[0]
    assert "apt-get install -y --no-install-recommends chromium" in apt.said[0]


def test_without_package_lists_apt_get_update_runs_then_install_again(browser: Path) -> None:
    apt = FakeApt(browser, 100, 0, 0)
    apt.ensure()
    assert apt.commands == [APT_INSTALL, APT_UPDATE, APT_INSTALL]
    assert any("apt-get update" in line for line in apt.said)


@pytest.mark.parametrize("codes", [(100, 1), (100, 0, 100)])
def test_an_install_that_fails_after_update_says_how_to_install_by_hand(
    browser: Path, codes: tuple[int, ...]
) -> None:
    apt = FakeApt(browser, *codes)
    with pytest.raises(MosaicError, match="could not install chromium") as raised:
        apt.ensure()
    assert "apt-get install -y --no-install-recommends chromium" in raised.value.hint


@pytest.mark.parametrize(
    ("apt_get", "root", "why"),
    [(False, True, "apt-get is not available"), (True, False, "not running as root")],
)
def test_without_apt_get_or_root_nothing_runs_and_the_error_says_how_to_install(
    browser: Path, apt_get: bool, root: bool, why: str
) -> None:
    apt = FakeApt(browser)
    with pytest.raises(MosaicError, match=why) as raised:
        apt.ensure(apt_get=apt_get, root=root)
    assert apt.commands == []
    assert "apt-get install" in raised.value.hint
    assert "MOSAIC_CHROMIUM" in raised.value.hint


def test_a_missing_custom_browser_is_not_replaced_by_debian_s(
    browser: Path, tmp_path: Path
) -> None:
    apt = FakeApt(browser)
    with pytest.raises(MosaicError, match=r"MOSAIC_CHROMIUM is .*not an executable"):
        apt.ensure(path=tmp_path / "my-chrome")
    assert apt.commands == []


def test_a_file_that_is_not_executable_is_not_a_browser(browser: Path) -> None:
    browser.write_text("not a program")
    browser.chmod(0o644)
    apt = FakeApt(browser, 0, creates=False)
    with pytest.raises(MosaicError, match="still not an executable"):
        apt.ensure()
    assert apt.commands == [APT_INSTALL]


def test_the_path_comes_from_mosaic_chromium_else_debian_s() -> None:
    assert chromium_path({}) == Path("/usr/bin/chromium")
    assert chromium_path({"MOSAIC_CHROMIUM": ""}) == Path("/usr/bin/chromium")
    assert chromium_path({"MOSAIC_CHROMIUM": "/opt/chrome/chrome"}) == Path("/opt/chrome/chrome")
