"""Architecture rules that hold for the whole repository."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def service_names() -> list[str]:
    return sorted(p.parent.name for p in ROOT.glob("services/*/pyproject.toml"))


def test_import_contracts_hold() -> None:
    """Services never import each other (import-linter contracts in pyproject.toml)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_every_service_is_under_the_independence_contract() -> None:
    """A new service must be added to the contract, or it could import the others unseen."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    independent = next(c for c in contracts if c["type"] == "independence")
    assert sorted(independent["modules"]) == service_names()
    assert set(service_names()) <= set(config["tool"]["importlinter"]["root_packages"])


def test_services_declare_no_dependency_on_each_other() -> None:
    names = set(service_names())
    for name in names:
        project = tomllib.loads((ROOT / "services" / name / "pyproject.toml").read_text())
        deps = {_name(d) for d in project["project"]["dependencies"]}
        assert not (deps & (names - {name})), f"{name} depends on another service: {deps & names}"


def _name(requirement: str) -> str:
    for sep in "<>=[;~! ":
        requirement = requirement.split(sep)[0]
    return requirement.strip().lower()
