"""Where things are: the workspace root, its services, its venv, and $MOSAIC_HOME."""

import os
import sys
import tomllib
from pathlib import Path

from mosaic.errors import MosaicError


def workspace_root() -> Path:
    """The folder whose pyproject.toml declares the uv workspace.

    Searched upwards from the current directory, then from this package (an editable
    install lives inside the workspace), so `mosaic` works from any sub-folder.
    """
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if _is_workspace_root(folder / "pyproject.toml"):
                return folder
    raise MosaicError(
        "could not find the Mosaic workspace (a pyproject.toml with [tool.uv.workspace])",
        "Run mosaic inside the repository, or set MOSAIC_HOME and MOSAIC_SERVICES_DIR.",
    )


def _is_workspace_root(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return "workspace" in data.get("tool", {}).get("uv", {})


def mosaic_home() -> Path:
    """$MOSAIC_HOME, else `.mosaic/` at the workspace root: data, passwords, run state."""
    configured = os.environ.get("MOSAIC_HOME")
    home = Path(configured) if configured else workspace_root() / ".mosaic"
    return home.absolute()


def services_dir(override: Path | None = None) -> Path:
    """The folder of services: --services-dir, $MOSAIC_SERVICES_DIR or `services/`."""
    configured = override or os.environ.get("MOSAIC_SERVICES_DIR")
    folder = Path(configured) if configured else workspace_root() / "services"
    return folder.absolute()


def venv_bin() -> Path:
    """The bin folder of the environment mosaic runs in; services run from the same one."""
    return Path(sys.prefix) / "bin"
