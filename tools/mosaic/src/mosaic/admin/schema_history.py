"""The schema revisions a service's code knows: its Alembic migrations, read without running
them (each file's `revision = "..."`), so checking a backup imports no service code. The
runner reads the same literals to tell whether a release has anything to do
(mosaic.release.script_heads)."""

import ast
from pathlib import Path

from mosaic.services import Service


def known_revisions(service: Service) -> set[str]:
    """Every revision in `migrations/versions/` of the service (empty without migrations)."""
    found = set()
    for script in sorted((service.folder / "migrations" / "versions").glob("*.py")):
        revision = literals(script, ("revision",)).get("revision")
        if isinstance(revision, str):
            found.add(revision)
    return found


def literals(script: Path, names: tuple[str, ...]) -> dict[str, object]:
    """The module-level assignments to `names` in `script`, as Python values; `...` for one
    whose value is not a literal (the caller cannot tell what it is)."""
    found: dict[str, object] = {}
    for node in ast.parse(script.read_text(), str(script)).body:
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id in names and value is not None:
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                found[target.id] = ...
    return found
