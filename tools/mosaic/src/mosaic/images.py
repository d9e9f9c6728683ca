"""`mosaic images build`: one image per service (and one of the `mosaic` tools) from the one
template deploy/images/Containerfile.

Nothing is downloaded inside a build. Each package is staged under build/images/<package>/:

    deps/   its third-party wheels, exactly those uv.lock pins (requirements.txt with hashes)
    own/    wheels of the package and of the workspace members it uses (the chassis)
    app/    its release files: Procfile, alembic.ini, migrations/

Third-party wheels are fetched once (pip download, for the image's platform and Python) into
build/images/cache/ and hard-linked per package. Separate folders make separate layers: a
change in a service's code rebuilds its last layers only, never its dependencies.

Long because staging (pins, wheels, platform markers) and building (base image, engine,
labels) are one pipeline over the same `Package`, checked against the same uv.lock.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker

from mosaic.engine import Engine
from mosaic.errors import MosaicError, UsageError
from mosaic.home import services_dir
from mosaic.services import discover_services

Say = Callable[[str], None]

REGISTRY = "localhost/mosaic"  # where images are tagged: local, never pushed by this tool
DEV_TAG = "dev"  # also given to every build, so compose files can name a fixed tag
TOOLS = "tools"  # the image of the `mosaic` package: backing servers, provisioning, mailbox
PYTHON = "3.11"  # the Python of both bases below: wheels are fetched for it
OFFICIAL_BASE = "docker.io/library/python:3.11-slim-bookworm"
LOCAL_BASE = f"{REGISTRY}/base:bookworm"  # made by --make-base from Debian's packages
# The bases of the build stage: the same, with binutils (strip).
BUILD_BASES = {
    OFFICIAL_BASE: "docker.io/library/python:3.11-bookworm",
    LOCAL_BASE: f"{REGISTRY}/build-base:bookworm",
}
BASE_SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
BUILD_PACKAGES = ("binutils",)
CONTAINERFILE = Path("deploy/images/Containerfile")
RELEASE_FILES = ("Procfile", "alembic.ini", "migrations")
# glibc of the bases (bookworm: 2.36) bounds which manylinux wheels run in them.
MANYLINUX_MINORS = range(17, 37)


@dataclass(frozen=True)
class Package:
    """What one image is built from: a service, or the tools."""

    name: str  # of the image
    folder: Path
    distribution: str = ""  # the uv package and Python module, when not `name`

    @property
    def package(self) -> str:
        return self.distribution or self.name

    @property
    def version(self) -> str:
        data = tomllib.loads((self.folder / "pyproject.toml").read_text())
        return str(data["project"]["version"])


def image(name: str, tag: str = DEV_TAG) -> str:
    return f"{REGISTRY}/{name}:{tag}"


def packages(root: Path) -> list[Package]:
    """Every service, then the tools."""
    found = [Package(s.name, s.folder) for s in discover_services(services_dir(None))]
    return [*found, Package(TOOLS, root / "tools" / "mosaic", distribution="mosaic")]


def chosen(known: list[Package], names: Iterable[str]) -> list[Package]:
    by_name = {p.name: p for p in known}
    names = list(dict.fromkeys(names))
    if unknown := [n for n in names if n not in by_name]:
        raise UsageError(
            f"no service named {', '.join(unknown)}",
            f"Images here: {', '.join(by_name)}.",
        )
    return [by_name[n] for n in names] if names else known


@dataclass(frozen=True)
class Revision:
    commit: str  # the full hash, for the revision label ("unknown" outside git)
    tag: str  # the short hash; with "-dirty-<digest of the changes>" for a changed tree

    @classmethod
    def of(cls, root: Path) -> Revision:
        commit = _git(root, "rev-parse", "HEAD")
        if not commit:
            return cls("unknown", "unversioned")
        changes = _git(root, "status", "--porcelain")
        if not changes:
            return cls(commit, commit[:12])
        # A working tree with changes: named by what changed, so an image built from an
        # earlier state of the tree is never taken for this one.
        digest = hashlib.sha256((changes + _git(root, "diff", "HEAD")).encode()).hexdigest()
        return cls(commit, f"{commit[:12]}-dirty-{digest[:8]}")


def source_url(root: Path) -> str:
    return _git(root, "config", "--get", "remote.origin.url") or f"file://{root}"


def _git(root: Path, *args: str) -> str:
    """What `git ARGS` prints in `root` ("" when it fails, or there is no git or folder)."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


# --- staging -------------------------------------------------------------------------------


class Stager:
    """Stages packages under `root`/build/images with uv (the lock) and pip (the wheels)."""

    def __init__(self, root: Path, say: Say) -> None:
        self.root = root
        self.out = root / "build" / "images"
        self.cache = self.out / "cache"
        self.say = say
        self.uv = root / ".tools" / "uv" / "bin" / "uv"
        self._built: dict[Path, Path] = {}  # workspace member folder -> its wheel

    def stage(self, package: Package) -> None:
        folder = self.out / package.package
        shutil.rmtree(folder, ignore_errors=True)
        deps, own, app = folder / "deps", folder / "own", folder / "app"
        for path in (deps, own, app):
            path.mkdir(parents=True)
        requirements, members = self._export(package)
        # The pins for the image, without uv's "# via" notes: services with the same
        # dependencies stage the same folder, so their dependency layer is built once.
        (deps / "requirements.txt").write_text(for_images(requirements))
        for wheel in self._fetch(package, deps / "requirements.txt"):
            _link(wheel, deps / wheel.name)
        wheels = [self._wheel(member) for member in members]
        for wheel in wheels:
            _link(wheel, own / wheel.name)
        (own / "workspace.txt").write_text("".join(f"/stage/own/{w.name}\n" for w in wheels))
        _copy_release_files(package.folder, app)
        if package.name == TOOLS:
            # The service data provisioning reads ([tool.mosaic], Procfiles), for
            # MOSAIC_SERVICES_DIR=/app/services: the tools know the services they run;
            # and the migrations' revision files, by which a backup's schema revision is
            # checked before a restore (mosaic.admin.schema_history).
            for service in discover_services(services_dir(None)):
                folder = app / "services" / service.name
                folder.mkdir(parents=True)
                for name in ("pyproject.toml", "Procfile"):
                    shutil.copy2(service.folder / name, folder / name)
                versions = service.folder / "migrations" / "versions"
                if versions.is_dir():
                    shutil.copytree(
                        versions, folder / "migrations" / "versions",
                        ignore=shutil.ignore_patterns("__pycache__"),
                    )  # fmt: skip

    def _export(self, package: Package) -> tuple[str, list[Path]]:
        """The package's locked third-party requirements (with hashes), and the folders of
        the workspace members it needs (itself included)."""
        done = self._uv(
            "export", "--frozen", "--no-dev", "--package", package.package,
            "--format", "requirements-txt", "--no-header",
        )  # fmt: skip
        lines, members = [], []
        for line in done.splitlines():
            if line.startswith("-e "):
                members.append((self.root / line[3:].strip()).resolve())
            else:
                lines.append(line)
        return "\n".join(lines) + "\n", members

    def _fetch(self, package: Package, requirements: Path) -> list[Path]:
        """The wheels `requirements` pins, for the image's platform, from the cache."""
        self.cache.mkdir(parents=True, exist_ok=True)
        before = set(self.cache.iterdir())
        argv = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--only-binary=:all:", "--require-hashes", "-r", str(requirements),
            "--dest", str(self.cache), "--python-version", PYTHON, "--implementation", "cp",
            *_platform_options(),
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise MosaicError(
                f"{package.name}: pip could not fetch the wheels uv.lock pins",
                "Check that PyPI (or your pip index) is reachable; the output above says "
                "which package failed.",
                output="\n".join(done.stderr.strip().splitlines()[-15:]),
            )
        if fetched := len(set(self.cache.iterdir()) - before):
            self.say(f"  {package.name}: fetched {fetched} wheel(s) into {self.cache}")
        return _wheels_of(self.cache, _pinned(requirements.read_text()))

    def _wheel(self, member: Path) -> Path:
        """The member's wheel, built once per run (uv build; deterministic contents)."""
        if member not in self._built:
            out = self.out / "workspace"
            out.mkdir(parents=True, exist_ok=True)
            self._uv("build", "--wheel", "--out-dir", str(out), str(member))
            name = tomllib.loads((member / "pyproject.toml").read_text())["project"]["name"]
            stem = re.sub(r"[-_.]+", "_", name).lower()
            candidates = sorted(out.glob(f"{stem}-*.whl"), key=lambda p: p.stat().st_mtime)
            if not candidates:
                raise MosaicError(f"uv build made no wheel for {member}")
            self._built[member] = candidates[-1]
        return self._built[member]

    def _uv(self, *args: str) -> str:
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        done = subprocess.run(
            [str(self.uv), *args, "--quiet", "--project", str(self.root)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            raise MosaicError(
                f"`uv {' '.join(args[:2])}` failed",
                "Run ./mosaic --help once (it installs uv), then try again.",
                output=done.stderr,
            )
        return done.stdout


# Environment markers are decided for the images, not for this machine: Linux, CPython 3.11,
# any patch release (Debian's base has 3.11.2, the official one the newest; uv.lock has pins
# such as `async-timeout ; python_full_version < '3.11.3'`).
IMAGE_ENVIRONMENTS = [
    {
        "python_version": PYTHON,
        "python_full_version": f"{PYTHON}.{patch}",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
    }
    for patch in (0, 99)
]


def for_images(requirements: str) -> str:
    """`requirements` (uv's export: pins, markers, hashes) without the pins no image needs,
    and without markers: what pip downloads, whatever machine runs it."""
    kept = []
    for entry in re.split(r"\n(?=\S)", requirements.replace("\\\n", " ")):
        head, _, hashes = entry.strip().partition(" --hash")
        pin, _, marker = head.partition(";")
        if not pin.strip() or pin.startswith("#"):
            continue
        if marker.strip() and not any(
            Marker(marker.strip()).evaluate(env) for env in IMAGE_ENVIRONMENTS
        ):
            continue
        hashes = re.sub(r"\s*#.*$", "", hashes, flags=re.MULTILINE)  # uv's "# via" notes
        kept.append(" ".join(f"{pin} --hash{hashes}".split()))
    return "".join(line + "\n" for line in kept)


def _copy_release_files(folder: Path, app: Path) -> None:
    for name in RELEASE_FILES:
        source = folder / name
        if source.is_dir():
            shutil.copytree(source, app / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            shutil.copy2(source, app / name)


def _pinned(requirements: str) -> list[str]:
    """`name==version` of each requirement line (hash and comment lines skipped)."""
    pins = []
    for line in requirements.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if match:
            pins.append(f"{match[1]}=={match[2]}")
    return pins


def _wheels_of(cache: Path, pins: list[str]) -> list[Path]:
    """The cached wheels of each `name==version` (a pin whose markers exclude the image's
    platform has none; pip in the build then says if one was needed after all)."""
    wanted = {_normalized(*pin.split("==")) for pin in pins}
    return sorted(
        wheel for wheel in cache.glob("*.whl") if _normalized(*wheel.name.split("-")[:2]) in wanted
    )


def _normalized(name: str, version: str) -> tuple[str, str]:
    """A distribution's name as wheel file names spell it (PEP 427), with its version."""
    return re.sub(r"[-_.]+", "_", name).lower(), version


def _platform_options() -> list[str]:
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine(), platform.machine())
    tags = [f"manylinux_2_{minor}_{arch}" for minor in MANYLINUX_MINORS]
    options = []
    for tag in [*tags, f"manylinux2014_{arch}", f"linux_{arch}"]:
        options += ["--platform", tag]
    return options


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


# --- building ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    package: str
    reference: str
    size: int  # bytes
    seconds: float


def choose_base(engine: Engine, base: str | None) -> str:
    """The base asked for; else the local one if made; else the official slim image."""
    if base:
        return base
    return LOCAL_BASE if engine.has_image(LOCAL_BASE) else OFFICIAL_BASE


def build_base(base: str) -> str:
    """The build stage's base for `base`: its counterpart with binutils, else itself."""
    return BUILD_BASES.get(base, base)


def make_base(engine: Engine, say: Say) -> str:
    """The bases from Debian's packages (mmdebstrap): LOCAL_BASE and its build stage's."""
    mmdebstrap = shutil.which("mmdebstrap")
    if mmdebstrap is None:
        raise MosaicError(
            "--make-base needs mmdebstrap, which is not installed",
            "Install it (Debian or Ubuntu: `apt-get install -y mmdebstrap`), or give "
            "--base IMAGE (e.g. python:3.11-slim-bookworm) where a registry is reachable.",
        )
    for reference, packages in (
        (LOCAL_BASE, BASE_PACKAGES),
        (BUILD_BASES[LOCAL_BASE], BASE_PACKAGES + BUILD_PACKAGES),
    ):
        _debootstrap(engine, mmdebstrap, reference, packages, say)
    return LOCAL_BASE


def _debootstrap(
    engine: Engine, mmdebstrap: str, reference: str, packages: tuple[str, ...], say: Say
) -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mosaic-base-") as folder:
        tarball = Path(folder) / "base.tar"
        say(f"making {reference} from Debian {BASE_SUITE}: {', '.join(packages)}")
        argv = [
            mmdebstrap, "--quiet", "--variant=apt", f"--include={','.join(packages)}",
            # Documentation is no use in an image: 171 MB instead of 219 MB.
            *(f"--dpkgopt=path-exclude=/usr/share/{d}/*" for d in ("doc", "man", "info", "locale")),
            BASE_SUITE, str(tarball),
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise MosaicError(
                "mmdebstrap could not make the base",
                "Check that Debian's package mirror is reachable (apt-get update works).",
                output="\n".join((done.stdout + done.stderr).splitlines()[-15:]),
            )
        engine.run("import", "--change", 'CMD ["python3"]', str(tarball), reference, capture=True)
    say(f"made {reference} in {time.monotonic() - started:.0f} s")


def build(
    engine: Engine,
    root: Path,
    chosen_packages: list[Package],
    base: str,
    say: Say,
) -> list[Built]:
    revision, source = Revision.of(root), source_url(root)
    stage_base = build_base(base)
    if stage_base.startswith(f"{REGISTRY}/") and not engine.has_image(stage_base):
        say(f"{stage_base} is missing (--make-base makes it): no stripping, larger images")
        stage_base = base
    created = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    stager = Stager(root, say)
    results = []
    for index, package in enumerate(chosen_packages, start=1):
        started = time.monotonic()
        say(f"[{index}/{len(chosen_packages)}] {package.name}: staging")
        stager.stage(package)
        tags = [image(package.name, revision.tag), image(package.name)]
        say(f"[{index}/{len(chosen_packages)}] {package.name}: building on {base}")
        args = {
            "BASE": base,
            "BUILD_BASE": stage_base,
            "PACKAGE": package.package,
            "VERSION": package.version,
            "REVISION": revision.commit,
            "CREATED": created,
            "SOURCE": source,
        }
        argv = ["build", "-f", str(root / CONTAINERFILE)]
        for key, value in args.items():
            argv += ["--build-arg", f"{key}={value}"]
        # Also as --label: podman 4.3 (buildah 1.28) takes a LABEL step from its cache when
        # only the ARG values in it changed, so an image kept the revision of an earlier
        # build with the same layers (seen here). Labels given to the build always apply.
        for key, value in labels(package, revision, created, source).items():
            argv += ["--label", f"{key}={value}"]
        for tag in tags:
            argv += ["--tag", tag]
        if engine.name == "docker":
            argv += ["--progress=plain"]
        _build_with_progress(engine, [*argv, str(root)], package.name, say)
        built = Built(package.name, tags[0], engine.image_size(tags[0]), time.monotonic() - started)
        say(
            f"[{index}/{len(chosen_packages)}] {package.name}: {built.reference} "
            f"(also :{DEV_TAG}), {built.size / 1e6:.0f} MB, {built.seconds:.0f} s"
        )
        results.append(built)
    return results


def labels(package: Package, revision: Revision, created: str, source: str) -> dict[str, str]:
    """The OCI annotations of an image (the Containerfile's LABEL, with their values)."""
    prefix = "org.opencontainers.image"
    return {
        f"{prefix}.title": f"mosaic-{package.package}",
        f"{prefix}.description": f"Mosaic, the microservices shop: {package.package}",
        f"{prefix}.source": source,
        f"{prefix}.revision": revision.commit,
        f"{prefix}.version": package.version,
        f"{prefix}.created": created,
    }


_STEP = re.compile(r"^(\[\d+/\d+\] )?STEP \d+/\d+:|^#\d+ \[")


def _build_with_progress(engine: Engine, argv: list[str], name: str, say: Say) -> None:
    """The engine's build, one line per build step shown; its whole output on failure."""
    process = subprocess.Popen(
        engine.command(*argv),
        env=engine.environ(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip())
        if _STEP.match(line):
            say(f"    {name}: {line.strip()[:110]}")
    if process.wait() != 0:
        raise MosaicError(
            f"{engine.name} build failed for {name} (exit {process.returncode})",
            "Its last lines are above. A missing base? Give --base IMAGE, or --make-base "
            "where no registry is reachable.",
            output="\n".join(lines[-30:]),
        )
