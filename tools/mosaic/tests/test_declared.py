"""deptry in `mosaic test`: every workspace package declares what it imports, nothing else."""

from pathlib import Path

import pytest
from mosaic.declared import check_declared, workspace_members
from mosaic.errors import MosaicError

ROOT = Path(__file__).resolve().parents[3]


def test_every_workspace_package_declares_exactly_what_it_imports() -> None:
    assert {m.name for m in workspace_members(ROOT)} >= {"chassis", "mosaic", "loadgen", "cart"}
    check_declared(ROOT)


def _workspace(tmp_path: Path, dependencies: str, source: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "w"\nversion = "0"\n[tool.uv.workspace]\nmembers = ["services/*"]\n'
    )
    toy = tmp_path / "services" / "toy"
    (toy / "src" / "toy").mkdir(parents=True)
    (toy / "pyproject.toml").write_text(
        f'[project]\nname = "toy"\nversion = "0"\ndependencies = [{dependencies}]\n'
    )
    (toy / "src" / "toy" / "__init__.py").write_text(source)
    return tmp_path


@pytest.mark.parametrize(
    ("dependencies", "source", "finding"),
    [
        ('"fastapi"', "import fastapi\nimport orjson\n", "'orjson' imported but"),
        ('"fastapi", "orjson"', "import fastapi\n", "'orjson' defined as a dependency but not"),
    ],
)
def test_an_undeclared_or_unused_dependency_fails_naming_the_package_and_the_import(
    tmp_path: Path, dependencies: str, source: str, finding: str
) -> None:
    with pytest.raises(MosaicError) as error:
        check_declared(_workspace(tmp_path, dependencies, source))
    assert error.value.message.endswith("disagree in: toy")
    assert finding in error.value.output
