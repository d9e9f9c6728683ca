"""Each image can start the commands compose, Kubernetes and Cloud Run give it (the images
carry none of their own): for a service, its Procfile's process types, release and jobs
(and chassis.schedule, which runs the jobs under compose); for the tools image, the
`mosaic` commands compose.yaml runs. No database, no network: each `python -m X` module is
imported as `python -m` would find it but without running it (every one guards its start
with `if __name__ == "__main__"`), and every other program answers `--help`. One `run --rm`
per image."""

import json
import shlex
from pathlib import Path

import pytest
import yaml
from mosaic import images
from mosaic.compose import COMPOSE_FILE, JOB_RUNNER
from mosaic.engine import Engine
from mosaic.home import services_dir
from mosaic.services import discover_services

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = images.packages(ROOT)
pytestmark = [pytest.mark.container, pytest.mark.timeout(600)]

# In the image: argv lists in sys.argv[1]; prints what failed, as JSON.
STARTS = """
import importlib, importlib.util, json, subprocess, sys
failed = {}
for argv in json.loads(sys.argv[1]):
    try:
        if argv[0] in ("python", "python3") and argv[1] == "-m":
            spec = importlib.util.find_spec(argv[2])
            if spec is None:
                raise ImportError("no module " + argv[2])
            package = spec.submodule_search_locations is not None
            importlib.import_module(argv[2] + ".__main__" if package else argv[2])
        else:
            done = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                raise RuntimeError((done.stdout + done.stderr)[-500:])
    except Exception as error:
        failed[" ".join(argv)] = f"{type(error).__name__}: {error}"
print(json.dumps(failed))
"""


def _programs(package: images.Package) -> list[list[str]]:
    """What each command runs, without its shell or its arguments past the module or the
    subcommand: `python -m orders.jobs`, `alembic`, `mosaic serve postgres`."""
    if package.name == images.TOOLS:  # what compose.yaml runs from the tools image
        containers = yaml.safe_load((ROOT / COMPOSE_FILE).read_text())["services"]
        found = []
        for container in containers.values():
            if container["image"].split(":")[0] == images.image(images.TOOLS).split(":")[0]:
                command = container["command"]
                found.append(command[: next(i for i, a in enumerate(command) if a[:2] == "--")])
        return found
    (service,) = [s for s in discover_services(services_dir()) if s.name == package.name]
    commands = [*service.processes.values(), *(j.command for j in service.jobs)]
    commands += [service.release] if service.release else []
    found = [JOB_RUNNER] if service.jobs else []
    for command in commands:
        argv = shlex.split(command)
        found.append(argv[:3] if argv[:2] == ["python", "-m"] else argv[:1])
    return found


@pytest.mark.parametrize("package", PACKAGES, ids=[p.name for p in PACKAGES])
def test_the_image_can_start_each_of_its_commands(
    engine: Engine, tag: str, package: images.Package
) -> None:
    programs = _programs(package)
    assert programs
    done = engine.run(
        "run", "--rm", "--read-only", "--network=none", images.image(package.name, tag),
        "python", "-c", STARTS, json.dumps(programs),
        capture=True, timeout=300,
    )  # fmt: skip
    failed = json.loads(done.stdout.strip().splitlines()[-1])
    assert failed == {}, f"{package.name}: {failed}"
