"""`mosaic admin run catalog import-products FILE` against a `mosaic up` of the catalog alone
(temp home, free ports): the file read from the caller's folder, ARGS passed on, the exit
code passed back, the running service's cache retired."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mosaic.ports import free_port
from mosaic_testing import UpProcess

ROOT = Path(__file__).resolve().parents[3]
DEMO_APP = Path(__file__).parent / "demo_services" / "demo_app.py"
HEADER = "id,name,description,category,price_amount,price_currency,tags,picture"
ROW = "e2e-mug,E2E Mug,A mug.,kitchen,{price},USD,mug,"


def run(
    folder: Path, env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mosaic", "admin", "run", "catalog", *args],
        input=stdin,
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_products_through_mosaic_admin_run(tmp_path: Path) -> None:
    services = tmp_path / "services"
    services.mkdir()
    (services / "catalog").symlink_to(ROOT / "services" / "catalog")
    # A stand-in reader of the catalog (its routes allow frontend), so the test holds its
    # identity and reads a product page the way the shop does.
    reader = services / "frontend"
    reader.mkdir()
    (reader / "pyproject.toml").write_text(
        '[project]\nname = "frontend"\nversion = "0"\n\n[tool.mosaic]\ncalls = ["catalog"]\n'
    )
    (reader / "Procfile").write_text(f"web: python {DEMO_APP}\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "bad.csv").write_text(
        f"{HEADER}\n{ROW.format(price=900)}\nx y,X,Y,kitchen,1,USD,,\n"
        "e2e-pot,Pot,A pot.,kitchen,9.99,USD,,\ne2e-rake,Rake,A rake.,garden,5,USD,,\n"
    )
    (work / "good.csv").write_text(f"{HEADER}\n{ROW.format(price=1200)}\n")
    runner = UpProcess(
        tmp_path / "home", free_port(), extra_env={"MOSAIC_SERVICES_DIR": str(services)}
    )
    with runner:
        runner.wait_ready(180)
        env = runner.env

        bad = run(work, env, "import-products", "bad.csv")
        assert bad.returncode == 1, bad.stderr
        assert [n for n in (3, 4, 5) if f"bad.csv, line {n}:" in bad.stderr] == [3, 4, 5]
        assert "nothing was imported" in bad.stderr

        skipped = run(work, env, "import-products", "bad.csv", "--skip-bad")
        assert skipped.returncode == 0, skipped.stderr
        assert "created: 1, updated: 0, unchanged: 0, skipped (bad): 3" in skipped.stdout

        with runner.client("catalog", caller="frontend") as catalog:
            assert catalog.get("/v1/products/e2e-mug").json()["price"]["amount"] == 900
            good = run(work, env, "import-products", "good.csv")
            assert good.returncode == 0, good.stderr
            assert "updated: 1" in good.stdout
            # As under `kubectl exec -i` or `podman run -i`: the file on standard input.
            piped = run(work, env, "import-products", "-", stdin=(work / "good.csv").read_text())
            assert "created: 0, updated: 0, unchanged: 1" in piped.stdout, piped.stderr
            # The running service's cached page was retired by the task's import.
            assert catalog.get("/v1/products/e2e-mug").json()["price"]["amount"] == 1200

        exported = run(work, env, "export-products", "--out", "all.csv")
        assert exported.returncode == 0, exported.stderr
        lines = (work / "all.csv").read_text().splitlines()
        assert lines[0] == HEADER
        assert "e2e-mug,E2E Mug,A mug.,kitchen,1200,USD,mug,/v1/pictures/e2e-mug.svg" in lines
        again = run(work, env, "import-products", "all.csv")
        assert f"created: 0, updated: 0, unchanged: {len(lines) - 1}" in again.stdout
