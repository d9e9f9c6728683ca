"""The secret scan of `mosaic test`: detect-secrets over every file git tracks. A finding
fails the step unless `secrets-baseline.json` lists it as a reviewed false positive, with
the reason it is one; an entry without a reason, or one no longer found, fails it too, so
the list holds exactly what someone looked at.

Why bc-detect-secrets: it is the maintained fork of Yelp's detect-secrets that checkov (the
manifests' linter, already here) depends on, and both install the same `detect_secrets`
module, so Yelp's could not sit beside it. Its own baseline has no place for a reason and
is matched by line number; ours names the file, the detector and the secret's hash (as
detect-secrets reports it: never the secret itself), so moving a line keeps its review.

Run: `python -m mosaic_testing.secret_scan [ROOT]` (exit 1 with what to do on a finding).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detect_secrets.core.secrets_collection import SecretsCollection
from detect_secrets.settings import default_settings

BASELINE = "secrets-baseline.json"


@dataclass(frozen=True)
class Finding:
    file: str
    type: str
    hashed_secret: str
    line: int = 0  # where it was seen; not part of its identity

    @property
    def key(self) -> tuple[str, str, str]:
        return self.file, self.type, self.hashed_secret

    def entry(self, reason: str = "") -> dict[str, Any]:
        return {
            "file": self.file,
            "type": self.type,
            "hashed_secret": self.hashed_secret,
            "line": self.line,
            "reason": reason,
        }


@dataclass(frozen=True)
class Verdict:
    new: list[Finding]  # found, and not reviewed
    unexplained: list[dict[str, Any]]  # reviewed entries without a reason
    stale: list[dict[str, Any]]  # reviewed entries no longer found

    @property
    def passed(self) -> bool:
        return not (self.new or self.unexplained or self.stale)


def tracked_files(root: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=False, timeout=60
    )
    if listed.returncode != 0:
        raise SystemExit(
            f"the secret scan lists the files git tracks, and git could not in {root}: "
            f"{listed.stderr.decode(errors='replace').strip()} (run it in a clone)"
        )
    names = listed.stdout.decode().split("\0")
    # The baseline holds hashes, not secrets (and each would read as one).
    return [n for n in names if n and n != BASELINE and (root / n).is_file()]


def scan(root: Path, files: Iterable[str]) -> list[Finding]:
    """What detect-secrets' detectors (all of them, its default filters) find in `files`.
    One process: its pool of one per CPU would contend with the tests running beside it."""
    collection = SecretsCollection(root=str(root))
    with default_settings():
        for name in files:
            collection.scan_file(name)
    found = [
        Finding(str(name), secret.type, secret.secret_hash, secret.line_number or 0)
        for name, secret in collection
    ]
    return sorted(found, key=lambda f: (f.file, f.line, f.type))


def reviewed(root: Path) -> list[dict[str, Any]]:
    path = root / BASELINE
    if not path.is_file():
        return []
    document: dict[str, Any] = json.loads(path.read_text())
    entries: list[dict[str, Any]] = document["reviewed"]
    return entries


def judge(found: list[Finding], entries: list[dict[str, Any]]) -> Verdict:
    keys = {(e["file"], e["type"], e["hashed_secret"]) for e in entries}
    seen = {f.key for f in found}
    return Verdict(
        new=[f for f in found if f.key not in keys],
        unexplained=[e for e in entries if not str(e.get("reason", "")).strip()],
        stale=[e for e in entries if (e["file"], e["type"], e["hashed_secret"]) not in seen],
    )


def report(verdict: Verdict) -> str:
    lines = []
    if verdict.new:
        lines.append(f"{len(verdict.new)} possible secret(s) in tracked files:")
        lines += [f"  {f.file}:{f.line}: {f.type}" for f in verdict.new]
        lines.append(
            "Take a real secret out of the repository (and rotate it: it is in git's history). "
            f"A false positive (a made-up test password, a placeholder) goes into {BASELINE} "
            "with the reason it is one:"
        )
        lines += ["  " + json.dumps(f.entry("WHY THIS IS NO SECRET")) for f in verdict.new]
    if verdict.unexplained:
        lines.append(f"{BASELINE}: entries without a reason (say why each is no secret):")
        lines += [f"  {e['file']}: {e['type']}" for e in verdict.unexplained]
    if verdict.stale:
        lines.append(f"{BASELINE}: entries no longer found (remove them):")
        lines += [f"  {e['file']}: {e['type']} {e['hashed_secret']}" for e in verdict.stale]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else ".").resolve()
    files = tracked_files(root)
    verdict = judge(scan(root, files), reviewed(root))
    if verdict.passed:
        entries = len(reviewed(root))
        print(f"no secrets in {len(files)} tracked files ({entries} reviewed false positives)")
        return 0
    print(report(verdict), file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
