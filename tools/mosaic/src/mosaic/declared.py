"""Each workspace package declares what it imports and nothing else (deptry, per package).

deptry reads one pyproject.toml at a time, so it runs once in each member's folder: over its
`src/` and, for a service with a database, its `migrations/` (alembic is imported there). A
package's tests are left out: what they import comes from the workspace's dev group.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from mosaic.errors import MosaicError

SCANNED = ("src", "migrations")


def workspace_members(root: Path) -> list[Path]:
    """The folders of the uv workspace's members, as the root pyproject.toml's globs say."""
    config = tomllib.loads((root / "pyproject.toml").read_text())
    members = config["tool"]["uv"]["workspace"]["members"]
    return sorted(
        folder
        for pattern in members
        for folder in root.glob(pattern)
        if (folder / "pyproject.toml").is_file()
    )


def undeclared(member: Path) -> str:
    """deptry's findings for one member ("" when it declares exactly what it imports)."""
    deptry = Path(sys.executable).with_name("deptry")
    scanned = [name for name in SCANNED if (member / name).is_dir()]
    done = subprocess.run(
        [str(deptry), "--no-ansi", *scanned],
        cwd=member,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0:
        return ""
    return "\n".join(line for line in done.stdout.splitlines() if " DEP" in line) or done.stderr


def check_declared(root: Path) -> None:
    """Raise naming every package whose declared dependencies and imports disagree."""
    found = {member: undeclared(member) for member in workspace_members(root)}
    if failed := {member: text for member, text in found.items() if text}:
        names = ", ".join(member.name for member in failed)
        findings = "\n".join(f"{m.relative_to(root)}:\n{text}" for m, text in failed.items())
        raise MosaicError(
            f"dependencies declared and imported disagree in: {names}",
            "Declare what the package imports in its pyproject.toml (DEP001/DEP003) and drop "
            "what it never imports (DEP002); a program run but never imported goes under "
            "[tool.deptry.per_rule_ignores] with the reason.",
            output=findings,
        )
