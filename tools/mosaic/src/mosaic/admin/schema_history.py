"""The schema revisions a service's code knows: its Alembic migrations, read without running
them (each file's `revision = "..."`), so checking a backup imports no service code."""

import ast

from mosaic.services import Service


def known_revisions(service: Service) -> set[str]:
    """Every revision in `migrations/versions/` of the service (empty without migrations)."""
    found = set()
    for script in sorted((service.folder / "migrations" / "versions").glob("*.py")):
        for node in ast.parse(script.read_text()).body:
            target, value = _assignment(node)
            if target == "revision" and isinstance(value, ast.Constant):
                found.add(str(value.value))
    return found


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), node.value
    return None, None
