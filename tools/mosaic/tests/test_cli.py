"""The command line itself: its version, bench's help panels, bench without matplotlib."""

import subprocess
import sys
from importlib.metadata import version

from mosaic.cli import app
from typer.testing import CliRunner


def test_version_names_the_installed_command_line() -> None:
    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0, done.output
    assert done.output == f"mosaic {version('mosaic')}\n"


def test_bench_help_shows_its_option_panels() -> None:
    done = CliRunner().invoke(app, ["bench", "--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    for panel in ("Options", "Shop under test", "Load"):
        assert f"─ {panel} ─" in done.output
    shop_panel = done.output.split("─ Shop under test ─")[1].split("╰")[0]
    assert "--url" in shop_panel and "--home" in shop_panel


def test_the_up_help_keeps_the_table_name_in_brackets() -> None:
    """Rich markup would swallow an unescaped `[tool.mosaic.jobs]`."""
    done = CliRunner().invoke(app, ["up", "--help"], env={"COLUMNS": "200"})
    assert "[tool.mosaic.jobs]" in done.output


def test_bench_without_matplotlib_says_how_to_get_it_in_one_line() -> None:
    blocked = "import sys; sys.modules['matplotlib'] = None; from mosaic.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", blocked, "bench", "--quick"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "matplotlib" in lines[0] and "mosaic[bench]" in lines[0]
