"""A service is registered everywhere a service must be, or this test names the lists it is
missing from (docs/architecture.md, "Service anatomy": adding a service).

Services are discovered as the runner discovers them: every services/*/pyproject.toml. The
lists are the ones kept by hand (the root pyproject.toml's, README's table, the services
graph) and the ones `mosaic deploy render` writes from [tool.mosaic] (compose, Kubernetes,
Cloud Run): a service missing there means the files were not rendered again. The caller
policy (`mosaic admin policy`: the routes' allowlists against each service's `calls`) must
agree both ways. Images, the
runner's Prometheus targets and the dashboard come from the same discovery at run time, so
they hold no list to forget.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
RENDER = "run `mosaic deploy render`"

Place = Callable[[Path], set[str]]


def discovered(root: Path) -> set[str]:
    return {p.parent.name for p in root.glob("services/*/pyproject.toml")}


def _root_config(root: Path) -> dict:  # type: ignore[type-arg]
    return tomllib.loads((root / "pyproject.toml").read_text())


def _dev_group(root: Path) -> set[str]:
    entries = _root_config(root)["dependency-groups"]["dev"]
    return {re.match(r"[\w.-]+", entry)[0] for entry in entries}  # type: ignore[index]


def _uv_sources(root: Path) -> set[str]:
    return set(_root_config(root)["tool"]["uv"]["sources"])


def _workspace_members(root: Path) -> set[str]:
    patterns = _root_config(root)["tool"]["uv"]["workspace"]["members"]
    return {
        p.name for pattern in patterns for p in root.glob(pattern) if p.parent.name == "services"
    }


def _mypy_path(root: Path) -> set[str]:
    path = _root_config(root)["tool"]["mypy"]["mypy_path"]
    return {m[1] for m in re.finditer(r"services/(\w+)/src", path)}


def _import_linter_roots(root: Path) -> set[str]:
    return set(_root_config(root)["tool"]["importlinter"]["root_packages"])


def _contract(name: str) -> Place:
    """The service list of one import-linter contract: whichever of its lists names services."""

    def names(root: Path) -> set[str]:
        contracts = _root_config(root)["tool"]["importlinter"]["contracts"]
        contract = next(c for c in contracts if c["name"] == name)
        services = discovered(root)
        lists = [set(v) for v in contract.values() if isinstance(v, list)]
        return next((found for found in lists if found & services), set())

    return names


def _policy(root: Path) -> set[str]:
    """Services that other services call (a committed openapi.json) list their routers in
    [tool.mosaic] api, where `mosaic admin policy` collects the caller allowlists."""
    named = set()
    for service in discovered(root):
        folder = root / "services" / service
        config = tomllib.loads((folder / "pyproject.toml").read_text())
        if (
            config.get("tool", {}).get("mosaic", {}).get("api")
            or not (folder / "openapi.json").is_file()
        ):
            named.add(service)
    return named


def _compose(root: Path) -> set[str]:
    names = yaml.safe_load((root / "deploy/compose/compose.yaml").read_text())["services"]
    return {name.split("-")[0] for name in names}


def _kubernetes(root: Path) -> set[str]:
    base = yaml.safe_load((root / "deploy/k8s/base/kustomization.yaml").read_text())
    return {resource.removesuffix(".yaml") for resource in base["resources"]}


def _cloud_run(root: Path) -> set[str]:
    return {p.stem.split("-")[0] for p in (root / "deploy/cloudrun/services").glob("*.yaml")}


def _readme_table(root: Path) -> set[str]:
    return set(re.findall(r"^\| (\w+) \|", (root / "README.md").read_text(), re.M))


def _services_graph(root: Path) -> set[str]:
    return set(re.findall(r"\b(\w+)\b", (root / "docs/services.dot").read_text()))


PLACES: dict[str, Place] = {
    "pyproject.toml [dependency-groups] dev": _dev_group,
    "pyproject.toml [tool.uv.sources]": _uv_sources,
    "pyproject.toml [tool.uv.workspace] members": _workspace_members,
    "pyproject.toml [tool.mypy] mypy_path": _mypy_path,
    "pyproject.toml [tool.importlinter] root_packages": _import_linter_roots,
    **{
        f"pyproject.toml import-linter contract {name!r}": _contract(name)
        for name in (
            "Services never import each other",
            "The chassis never imports a service or the command line",
            "Services never import the command line",
        )
    },
    "services/<name>/pyproject.toml [tool.mosaic] api (routers of the caller policy)": _policy,
    f"deploy/compose/compose.yaml ({RENDER})": _compose,
    f"deploy/k8s/base/kustomization.yaml ({RENDER})": _kubernetes,
    f"deploy/cloudrun/services/ ({RENDER})": _cloud_run,
    "README.md's table of services": _readme_table,
    "docs/services.dot (the services graph; regenerate the svg and png)": _services_graph,
}


def missing(root: Path) -> dict[str, list[str]]:
    """Each place that leaves out a discovered service, with the services it leaves out."""
    services = discovered(root)
    gaps = {place: sorted(services - names(root)) for place, names in PLACES.items()}
    return {place: gap for place, gap in gaps.items() if gap}


def _explain(gaps: dict[str, list[str]]) -> str:
    lines = [f"  {place}: add {', '.join(gap)}" for place, gap in gaps.items()]
    return "a service is not registered everywhere:\n" + "\n".join(lines)


def test_every_service_is_registered_in_every_list() -> None:
    assert len(discovered(ROOT)) >= 10
    gaps = missing(ROOT)
    assert not gaps, _explain(gaps)


def test_every_call_is_allowed_and_every_allowlist_is_called() -> None:
    """The policy `mosaic admin policy` shows: each `calls` entry has a route of the callee
    that allows the caller, and each allowlisted service lists the callee in its `calls`."""
    from mosaic.admin.policy import collect_policy
    from mosaic.services import discover_services

    warnings = collect_policy(discover_services(ROOT / "services")).warnings
    assert not warnings, "the caller policy and [tool.mosaic] calls disagree:\n" + "\n".join(
        warnings
    )


@pytest.fixture
def copy_with_a_toy_service(tmp_path: Path) -> Path:
    """The files the lists live in, copied, and a toy service added as the recipe's step 1."""
    for path in ("pyproject.toml", "README.md", "docs/services.dot", "deploy/compose/compose.yaml"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    for folder in ("deploy/k8s/base", "deploy/cloudrun/services"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for pyproject in ROOT.glob("services/*/pyproject.toml"):
        target = tmp_path / pyproject.relative_to(ROOT)
        target.parent.mkdir(parents=True)
        shutil.copy(pyproject, target)
        if (pyproject.parent / "openapi.json").is_file():
            (target.parent / "openapi.json").write_text("{}")
    toy = tmp_path / "services" / "newcomer"
    toy.mkdir()
    (toy / "pyproject.toml").write_text(
        '[project]\nname = "newcomer"\n\n[tool.mosaic]\nbacking = []\n'
    )
    (toy / "openapi.json").write_text("{}")
    return tmp_path


def test_a_forgotten_service_is_named_with_every_list_it_is_missing_from(
    copy_with_a_toy_service: Path,
) -> None:
    gaps = missing(copy_with_a_toy_service)
    # services/* covers every service folder: the workspace needs no entry of its own.
    assert set(gaps) == set(PLACES) - {"pyproject.toml [tool.uv.workspace] members"}
    assert all(gap == ["newcomer"] for gap in gaps.values()), gaps
    assert "import-linter contract 'Services never import each other': add newcomer" in _explain(
        gaps
    )


def test_one_entry_removed_is_named(copy_with_a_toy_service: Path) -> None:
    shutil.rmtree(copy_with_a_toy_service / "services" / "newcomer")
    pyproject = copy_with_a_toy_service / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "shipping",\n', "", 1))
    assert missing(copy_with_a_toy_service) == {
        "pyproject.toml [dependency-groups] dev": ["shipping"]
    }
