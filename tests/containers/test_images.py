"""Every image: built from the lock by `mosaic images build`, runs its package as a numeric
non-root user on a read-only root filesystem, holds what its process types need (release
files included) and nothing it should not (compilers, pip, tests, secrets)."""

import json
import subprocess
from pathlib import Path

import pytest
from mosaic import images
from mosaic.engine import Engine
from mosaic.procfile import read_procfile

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = images.packages(ROOT)
pytestmark = [pytest.mark.container, pytest.mark.timeout(1500)]

# In the image: the process's identity, what it may write, and what it must not hold.
PROBE = """
import importlib, importlib.util, json, os, shutil, sys
module = importlib.import_module(sys.argv[1])
found = {
    "uid": os.getuid(), "gid": os.getgid(),
    "module": module.__file__,
    "root_writable": os.access("/", os.W_OK) or os.access("/app", os.W_OK),
    "tmp_writable": os.access("/tmp", os.W_OK),
    "tools": [t for t in ("gcc", "cc", "make", "pip", "pip3", "uv") if shutil.which(t)],
    "pip": importlib.util.find_spec("pip") is not None,
    "app": sorted(os.listdir("/app")),
    "tests": [d for d, _, _ in os.walk("/opt/mosaic") if os.path.basename(d) == "tests"],
    "secrets": [os.path.join(d, f) for d, _, files in os.walk("/", topdown=True)
                if not d.startswith(("/proc", "/sys", "/dev", "/usr/share/ca-certificates",
                                     "/etc/ssl"))
                for f in files if f.endswith((".key", ".env")) or f == "secrets.json"],
}
try:
    open("/app/written", "w")
    found["wrote"] = True
except OSError:
    found["wrote"] = False
print(json.dumps(found))
"""


def probe(engine: Engine, reference: str, module: str) -> dict[str, object]:
    done = engine.run(
        "run", "--rm", "--read-only", "--network=none", reference,
        "python", "-c", PROBE, module,
        capture=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("package", PACKAGES, ids=[p.name for p in PACKAGES])
def test_the_image_runs_its_package_as_non_root_on_a_read_only_root(
    engine: Engine, tag: str, package: images.Package
) -> None:
    found = probe(engine, images.image(package.name, tag), package.package)
    assert (found["uid"], found["gid"]) == (10001, 10001)
    assert str(found["module"]).startswith("/opt/mosaic/")  # installed, not a source tree
    assert found["wrote"] is False and found["root_writable"] is False
    assert found["tmp_writable"] is True
    assert found["tools"] == [] and found["pip"] is False  # no compilers, no installer
    assert found["tests"] == []
    assert found["secrets"] == []


@pytest.mark.parametrize("package", PACKAGES, ids=[p.name for p in PACKAGES])
def test_the_image_holds_its_procfile_and_release_files(
    engine: Engine, tag: str, package: images.Package
) -> None:
    found = probe(engine, images.image(package.name, tag), package.package)
    procfile = package.folder / "Procfile"
    if not procfile.exists():  # the tools: the services' data, for provisioning
        assert found["app"] == ["services"]
        return
    expected = ["Procfile"]
    if "release" in read_procfile(procfile):
        expected += ["alembic.ini", "migrations"]
    assert found["app"] == sorted(expected)


def test_images_are_labelled_with_their_revision_and_build(engine: Engine, tag: str) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    for package in PACKAGES:
        done = engine.run(
            "image", "inspect", "--format", "{{json .Config.Labels}}",
            images.image(package.name, tag), capture=True,
        )  # fmt: skip
        labels = json.loads(done.stdout)
        assert labels["org.opencontainers.image.revision"] == commit
        assert labels["org.opencontainers.image.version"] == package.version
        assert labels["org.opencontainers.image.title"] == f"mosaic-{package.package}"
        assert labels["org.opencontainers.image.created"].endswith("Z")
        assert labels["org.opencontainers.image.source"]
