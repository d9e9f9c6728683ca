"""The contracts as they are now, and as released: `contracts/released/<version>/`.

A contract is a service's committed `openapi.json` or one of its event schemas
(`services/<service>/events/<Type>.v<N>.json`). A release copies each, at the same path
below the service's name, into `contracts/released/<version>/`, with a `manifest.json`
(version, UTC time, git commit, the files). Released versions are never rewritten: the
newest is the baseline every later change is checked against, with no git tag needed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mosaic.errors import MosaicError

RELEASED = Path("contracts") / "released"
MANIFEST = "manifest.json"
_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True, order=True)
class Version:
    numbers: tuple[int, int, int]

    @classmethod
    def parse(cls, text: str) -> Version:
        found = _VERSION.match(text)
        if found is None:
            raise MosaicError(
                f"{text!r} is not a release version",
                "Name it vMAJOR.MINOR.PATCH, e.g. v0.2.0.",
            )
        major, minor, patch = (int(part) for part in found.groups())
        return cls((major, minor, patch))

    def __str__(self) -> str:
        return "v" + ".".join(str(n) for n in self.numbers)


def current(root: Path) -> dict[str, bytes]:
    """Every contract in the workspace now, by its path below `services/`."""
    services = root / "services"
    found = [*services.glob("*/openapi.json"), *services.glob("*/events/*.v*.json")]
    return {path.relative_to(services).as_posix(): path.read_bytes() for path in sorted(found)}


def versions(root: Path) -> list[Version]:
    """The released versions, oldest first (folders not named as a version are not one)."""
    folder = root / RELEASED
    names = [p.name for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []
    return sorted(Version.parse(name) for name in names if _VERSION.match(name))


def newest(root: Path) -> tuple[Version, dict[str, bytes]] | None:
    """The newest released version and its contracts, by path; None before the first."""
    released = versions(root)
    if not released:
        return None
    folder = root / RELEASED / str(released[-1])
    files = sorted(p for p in folder.rglob("*.json") if p.is_file() and p.name != MANIFEST)
    return released[-1], {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def release(
    root: Path,
    version: Version,
    *,
    compatible: Callable[[], list[str]] = list,
    reason: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Write `contracts/released/<version>/`, refusing a version that is not new and newer
    than every released one. `compatible` names the breaks against the last one (or raises
    for them); those it returns are accepted, and the manifest lists them with `reason`."""
    target = root / RELEASED / str(version)
    if target.exists():
        raise MosaicError(
            f"{version} is released already ({target.relative_to(root)}): a released "
            "version is never rewritten",
            "Release the change as a new version, e.g. the next patch or minor one.",
        )
    released = versions(root)
    if released and version <= released[-1]:
        raise MosaicError(
            f"{version} is not newer than the last release, {released[-1]}",
            f"Name a version above {released[-1]}.",
        )
    accepted = compatible() if released else []
    contracts = current(root)
    if not contracts:
        raise MosaicError(
            "no contracts to release: no services/*/openapi.json nor services/*/events/*.json",
            "Run it at the workspace root, with the services' committed contracts.",
        )
    staging = target.with_name(f".{version}.partial")
    shutil.rmtree(staging, ignore_errors=True)  # left by a release that was stopped midway
    for relative, content in contracts.items():
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        (staging / relative).write_bytes(content)
    manifest: dict[str, object] = {
        "version": str(version),
        "released_at": (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        "commit": _commit(root),
        "contracts": sorted(contracts),
    }
    if accepted:  # a deliberate retirement (an old version no caller uses): said for good
        manifest["accepted_breaks"] = {"reason": reason or "", "breaks": accepted}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    staging.rename(target)  # all or nothing: a half-written version is never the newest
    return target


def _commit(root: Path) -> str | None:
    """The workspace's git commit (with `+changes` when the contracts differ from it)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "services"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    contract_changed = any(
        line.endswith(("openapi.json", ".json")) and ("/events/" in line or "openapi" in line)
        for line in changed.splitlines()
    )
    return f"{head}+changes" if contract_changed else head
