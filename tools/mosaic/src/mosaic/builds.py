"""A git revision of the workspace built into its own environment, beside the running one,
for `mosaic upgrade`: `$MOSAIC_HOME/builds/<full sha>/` holds the revision's files (from
`git archive`, so exactly what was committed, as a clean clone has it) and one virtualenv
per service (`venvs/<service>/`) made by the workspace's pinned uv from that revision's
`uv.lock`, offline: every package is in uv's cache already, and nothing is downloaded while
the shop runs. A build is made once and kept (a rollback goes back to it); an interrupted
one is made again from the start.

`WORKTREE` names the environment `mosaic up` started with: the working tree and its .venv.
"""

import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mosaic.errors import MosaicError, UsageError

if TYPE_CHECKING:
    from mosaic.services import Service

WORKTREE = "worktree"
_DONE = ".built"  # written last: a folder without it is an interrupted build


def builds_dir(home: Path) -> Path:
    return home / "builds"


def build_folder(home: Path, build: str) -> Path:
    return builds_dir(home) / build


def service_folder(home: Path, build: str, service: str) -> Path:
    return build_folder(home, build) / "services" / service


def service_venv(home: Path, build: str, service: str) -> Path:
    return build_folder(home, build) / "venvs" / service


def short(build: str) -> str:
    """How status shows a build: `worktree`, or a sha's first 12 digits."""
    return build if build == WORKTREE else build[:12]


def forgotten_builds(state: dict[str, Any] | None) -> str | None:
    """What to say at start when the last run's services ran builds `mosaic upgrade` put
    there: a new `mosaic up` runs the working tree again."""
    builds = (state or {}).get("builds")
    ran = {
        service: entry["current"]
        for service, entry in (builds.items() if isinstance(builds, dict) else [])
        if isinstance(entry, dict) and entry.get("current") not in (None, WORKTREE)
    }
    if not ran:
        return None
    listed = ", ".join(f"{service} {short(str(build))}" for service, build in sorted(ran.items()))
    return (
        f"the last run had upgraded {listed}; every service runs the working tree now "
        "(check that revision out to keep it)"
    )


def build_env(env: dict[str, str], home: Path, build: str, service: str) -> dict[str, str]:
    """A service's environment `env`, with the build's virtualenv first on PATH instead of
    the runner's (its processes, release and tasks run that build's code)."""
    if build == WORKTREE:
        return dict(env)
    from mosaic.home import venv_bin

    bin_dir = service_venv(home, build, service) / "bin"
    rest = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != str(venv_bin())]
    return {
        **env,
        "PATH": os.pathsep.join([str(bin_dir), *rest]),
        "VIRTUAL_ENV": str(bin_dir.parent),
    }


def started_builds(
    home: Path, repo: Path, specs: list[str], note: Callable[[str], None]
) -> dict[str, str]:
    """`mosaic up --build SERVICE=REF`: each service's build (a full sha), made now."""
    builds: dict[str, str] = {}
    for spec in specs:
        service, _, ref = spec.partition("=")
        service, ref = service.strip(), ref.strip()
        if not service or not ref:
            raise UsageError(
                f"--build {spec!r}: expected SERVICE=REF",
                "For example: --build accounts=v0.1.0 (a commit, branch or tag)",
            )
        if service in builds:
            raise UsageError(f"--build {spec!r}: {service} is given twice", "Give one REF each.")
        builds[service] = resolve(repo, ref)
    for service, sha in builds.items():  # once every option is known good
        build(home, repo, sha, service, note)
    return builds


def started_from_builds(
    services: "list[Service]", home: Path, builds: dict[str, str], in_process: bool
) -> "dict[str, Service]":
    """The services `mosaic up --build` starts from a build, as each build declares them;
    refused when one cannot run where the working tree's would (the stack is wired from
    the working tree's service data, as for `mosaic upgrade`)."""
    from mosaic.services import load_service
    from mosaic.upgrade_checks import incompatibilities

    if builds and in_process:
        raise UsageError(
            "--build cannot be combined with --in-process: the one process runs the working "
            "tree's code",
            "Drop --in-process to start a service from a build.",
        )
    running = {s.name: s for s in services}
    started = {}
    for name, sha in builds.items():
        if name not in running:
            raise UsageError(
                f"--build {name}=...: this shop has no service {name!r}",
                f"Services here: {', '.join(sorted(running))}.",
            )
        if not (service_venv(home, sha, name) / _DONE).exists():
            raise MosaicError(f"{short(sha)} is not built for {name} under {home}")
        candidate = load_service(service_folder(home, sha, name))
        if problems := incompatibilities(running[name], candidate, set(running)):
            raise UsageError(
                f"{name} at {short(sha)} cannot start in this working tree's shop: "
                + "; ".join(problems),
                "Check that revision out and run `mosaic up` there instead.",
            )
        started[name] = candidate
    return started


def resolve(repo: Path, ref: str) -> str:
    """The full sha of the commit `ref` names in the git repository at `repo`."""
    if ref.startswith("-"):
        raise MosaicError(f"{ref!r} is not a git revision", "Pass a commit, branch or tag.")
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise MosaicError(
            f"{ref!r} names no commit in {repo}",
            "Pass a commit, branch or tag of this repository (see `git log --oneline`).",
        )
    return found.stdout.strip()


def build(home: Path, repo: Path, sha: str, service: str, note: Callable[[str], None]) -> Path:
    """The files of commit `sha` and `service`'s environment under builds/<sha>/; made
    unless a finished build is there. Returns the build's folder."""
    folder = build_folder(home, sha)
    venv = service_venv(home, sha, service)
    if not (folder / _DONE).exists():
        note(f"building {sha[:12]}: the files of the commit (git archive)")
        _unpack(repo, sha, folder)
    if not (folder / "services" / service / "Procfile").exists():
        raise MosaicError(
            f"{sha[:12]} has no service {service} (no services/{service}/Procfile there)",
            "Pick a revision that has the service.",
        )
    if not (venv / _DONE).exists():
        note(f"building {sha[:12]}: the environment of {service} (uv sync, offline)")
        _sync(folder, venv, service)
    return folder


def _unpack(repo: Path, sha: str, folder: Path) -> None:
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    partial.mkdir(parents=True)
    archive = partial / "tree.tar"
    with archive.open("wb") as out:
        made = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", sha],
            stdout=out,
            stderr=subprocess.PIPE,
            check=False,
        )
    if made.returncode != 0:
        raise MosaicError(f"git archive {sha[:12]} failed: {made.stderr.decode().strip()}")
    with tarfile.open(archive) as tar:
        tar.extractall(partial, filter="data")  # no path outside, no device files
    archive.unlink()
    (partial / _DONE).write_text(sha + "\n")
    partial.rename(folder)


def _sync(folder: Path, venv: Path, service: str) -> None:
    """`uv sync` of the service's package alone (no dev tools), from the build's uv.lock,
    offline, with the interpreter the running environment was made from."""
    uv = _uv()
    env = {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    }
    env.update(UV_PROJECT_ENVIRONMENT=str(venv), UV_PYTHON_DOWNLOADS="never", UV_OFFLINE="1")
    python = getattr(sys, "_base_executable", sys.executable)
    argv = [str(uv), "sync", "--quiet", "--frozen", "--offline", "--no-dev", "--compile-bytecode"]
    argv += ["--package", service, "--project", str(folder), "--python", python]
    synced = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if synced.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        raise MosaicError(
            f"could not make the environment of {service} for this revision; uv said:",
            "Every package its uv.lock pins must be in uv's cache (run `./mosaic --help` on "
            "a checkout of that revision once, with the network), then try again.",
            output=synced.stderr or synced.stdout,
        )
    (venv / _DONE).write_text(service + "\n")


def _uv() -> Path:
    """The workspace's pinned uv (`.tools/uv`, installed by ./mosaic), else one on PATH."""
    from mosaic.home import workspace_root

    pinned = workspace_root() / ".tools" / "uv" / "bin" / "uv"
    if pinned.exists():
        return pinned
    found = shutil.which("uv")
    if found is None:
        raise MosaicError("uv is not installed here", "Run ./mosaic --help once: it installs it.")
    return Path(found)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise MosaicError("git is not installed", "Install git to build a revision.") from None
