"""The container engine `mosaic images` and `mosaic deploy compose` drive: podman, else Docker.

Detected, not assumed: an engine counts only when it answers (`podman info`, `docker info`),
since a docker CLI without a Docker engine is common (this project's CI machine has one).
With podman, compose files run through podman-compose (a dependency of this tool); with
Docker, through `docker compose`.

podman reads the project's containers.conf (deploy/podman/containers.conf) unless
CONTAINERS_CONF is already set: runc instead of crun, and no default rlimits, which is what
podman 4.3 from Debian needs on machines like our CI's. Without runc it is left out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mosaic.chromium import run_apt_get
from mosaic.errors import MosaicError, UsageError
from mosaic.home import workspace_root

ENGINES = ("podman", "docker")
INSTALL_HINT = (
    "Install podman (Debian or Ubuntu: `apt-get install -y podman runc`) or start a Docker "
    "engine, then run this again."
)
PROBE_SECONDS = 30


@dataclass(frozen=True)
class Engine:
    name: str  # podman or docker
    executable: str
    env: Mapping[str, str] = field(default_factory=dict)  # added to ours for every call

    def command(self, *args: str) -> list[str]:
        return [self.executable, *args]

    def environ(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def run(
        self, *args: str, capture: bool = False, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `<engine> args...`; on failure (check) a MosaicError with its last output."""
        done = subprocess.run(
            self.command(*args),
            env=self.environ(),
            stdin=subprocess.DEVNULL,
            capture_output=capture,
            text=True,
            check=False,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            output = (done.stdout or "") + (done.stderr or "") if capture else ""
            raise MosaicError(
                f"`{self.name} {' '.join(args[:3])}` failed (exit {done.returncode})",
                "Its output says why; fix that and run again.",
                output=_tail(output),
            )
        return done

    def has_image(self, reference: str) -> bool:
        if self.name == "podman":
            return self.run("image", "exists", reference, check=False).returncode == 0
        done = self.run("image", "inspect", reference, capture=True, check=False)
        return done.returncode == 0

    def image_size(self, reference: str) -> int:
        """Bytes, as `<engine> images` counts them (all layers, the base's included)."""
        done = self.run("image", "inspect", "--format", "{{.Size}}", reference, capture=True)
        return int(done.stdout.strip())

    def compose(self) -> list[str]:
        """The compose command for this engine."""
        if self.name == "podman":
            return [str(Path(sys.executable).with_name("podman-compose"))]
        return [self.executable, "compose"]


def find_engine(wanted: str | None = None, root: Path | None = None) -> Engine:
    """The first engine that answers (or `wanted`), else a MosaicError saying what is missing."""
    if wanted is not None and wanted not in ENGINES:
        raise UsageError(f"--engine {wanted!r}: expected one of {', '.join(ENGINES)}")
    problems = []
    for name in [wanted] if wanted else ENGINES:
        executable = shutil.which(name)
        if executable is None:
            problems.append(f"{name} is not installed")
            continue
        engine = Engine(name, executable, _engine_env(name, root))
        why = _probe(engine)
        if why is None:
            return engine
        problems.append(f"{name} is installed but does not work here ({why})")
    raise MosaicError("no container engine works here: " + "; ".join(problems), INSTALL_HINT)


def project_containers_conf(root: Path) -> Path:
    return root / "deploy" / "podman" / "containers.conf"


def _engine_env(name: str, root: Path | None) -> dict[str, str]:
    if name != "podman" or root is None or "CONTAINERS_CONF" in os.environ:
        return {}
    if shutil.which("runc") is None:  # our file names runc as the runtime
        return {}
    return {"CONTAINERS_CONF": str(project_containers_conf(root))}


# Where Debian's netavark and aardvark-dns put their helpers (podman looks there first).
PODMAN_HELPERS = Path("/usr/lib/podman")
NAME_RESOLUTION = ("netavark", "aardvark-dns")  # our containers.conf's network backend


def _probe(engine: Engine) -> str | None:
    """None when the engine answers `info`, else the first line of why not. Podman under
    our containers.conf also needs netavark and aardvark-dns: without them a compose
    network has no DNS and no container finds `postgres` by name (CNI without its dnsname
    plugin, what Debian's podman falls back to when installed without recommends)."""
    if "CONTAINERS_CONF" in engine.env:
        missing = [h for h in NAME_RESOLUTION
                   if not (PODMAN_HELPERS / h).exists() and shutil.which(h) is None]  # fmt: skip
        if missing:
            return f"{' and '.join(missing)} not installed: containers could not find each other"
    try:
        done = engine.run("info", capture=True, check=False, timeout=PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        return f"`{engine.name} info` did not answer in {PROBE_SECONDS} s"
    if done.returncode == 0:
        return None
    lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"`{engine.name} info` exited {done.returncode}"


def _tail(output: str, lines: int = 25) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])


def run_streamed(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | None = None,
    leave_out: Callable[[str], bool] = lambda line: False,
) -> int:
    """Run with its output on our terminal (a build, a compose call), but the lines
    `leave_out` names; its exit code."""
    process = subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if not leave_out(line):
            sys.stderr.write(line)
    return process.wait()


# mmdebstrap: `mosaic images build --make-base`; netavark and aardvark-dns: names on networks
APT_PACKAGES = ("podman", "runc", "netavark", "aardvark-dns", "mmdebstrap")


def ensure_engine_here(say: Callable[[str], None]) -> str:
    """A working engine, installing podman with apt-get when none works and we may (root);
    one line saying what is there, or why the container stage will be skipped."""
    root = workspace_root()
    try:
        return f"using {find_engine(None, root).name}"
    except MosaicError as error:
        missing = error.message
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return f"container stage will be skipped: {missing} (and podman cannot be installed here)"
    say(f"no engine works ({missing}); installing {' '.join(APT_PACKAGES)} with apt-get")
    install = ("apt-get", "install", "-y", *APT_PACKAGES)
    if run_apt_get(install) != 0 and (
        run_apt_get(("apt-get", "update")) != 0 or run_apt_get(install) != 0
    ):
        return "container stage will be skipped: apt-get could not install podman"
    try:
        return f"using {find_engine(None, root).name} (installed)"
    except MosaicError as error:
        return f"container stage will be skipped: {error.message}"
