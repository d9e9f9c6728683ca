"""What the containers cost: image sizes, a cold build, and seconds from `compose up` to ready.

Run: .venv/bin/python bench/containers.py [--cold] [--runs 2] [--out containers.json]

--cold first removes every localhost/mosaic image (the bases too) and the engine's dangling
layers, then times `mosaic images build --make-base`: the bases from Debian's packages and
every image with an empty layer cache, as on a fresh CI machine. Without it the images of
this revision must exist (it builds what is missing, untimed).

Each run: `mosaic deploy compose up` on a new $MOSAIC_HOME and project (cold: new volumes,
so initdb, provisioning, every migration and the seed), timed to its ready line; then
`down --keep-data` and `up` again (warm: the same volumes); then `down`. Figures go to
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from mosaic import images
from mosaic.engine import find_engine
from mosaic.ports import free_port
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
console = Console()


def mosaic(*args: str, home: Path | None = None) -> tuple[float, str]:
    """Run `mosaic ARGS`; its seconds and output (fails loudly)."""
    env = {**os.environ, **({"MOSAIC_HOME": str(home)} if home else {})}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mosaic", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.monotonic() - started
    if done.returncode != 0:
        console.print(done.stdout[-3000:], done.stderr[-3000:], markup=False)
        raise SystemExit(f"`mosaic {' '.join(args)}` failed (exit {done.returncode})")
    return took, done.stdout + done.stderr


def remove_images() -> None:
    engine = find_engine(None, ROOT)
    listed = engine.run("images", "--format", "{{.Repository}}:{{.Tag}}", capture=True)
    ours = [r for r in listed.stdout.split() if r.startswith(f"{images.REGISTRY}/")]
    if ours:
        engine.run("rmi", "--force", *ours, capture=True)
    engine.run("image", "prune", "--force", capture=True)
    console.print(f"removed {len(ours)} image tags and the dangling layers")


def sizes(tag: str) -> dict[str, int]:
    engine = find_engine(None, ROOT)
    found = {p.name: engine.image_size(images.image(p.name, tag)) for p in images.packages(ROOT)}
    found["(base)"] = engine.image_size(images.LOCAL_BASE)
    return found


def compose_run() -> tuple[float, float]:
    """Seconds to ready: cold (new volumes), then warm (the same volumes)."""
    home = Path(tempfile.mkdtemp(prefix="mosaic-compose-bench-"))
    project = f"mosaic-bench-{uuid.uuid4().hex[:6]}"
    ports = ["--port", str(free_port()), "--mail-port", str(free_port())]
    try:
        cold, _ = mosaic("deploy", "compose", "up", *ports, "--project", project, home=home)
        mosaic("deploy", "compose", "down", "--keep-data", "--project", project, home=home)
        warm, _ = mosaic("deploy", "compose", "up", *ports, "--project", project, home=home)
    finally:
        mosaic("deploy", "compose", "down", "--project", project, home=home)
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="time a build from nothing")
    parser.add_argument("--runs", type=int, default=2, help="compose up runs (cold and warm)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()

    result: dict[str, object] = {}
    if args.cold:
        remove_images()
        took, output = mosaic("images", "build", "--make-base")
        bases = [float(s) for s in re.findall(r"made \S+ in (\d+) s", output)]
        result["cold_build_s"] = round(took, 1)
        result["bases_s"] = bases
        console.print(f"cold build: {took:.0f} s (of which the bases {sum(bases):.0f} s)")
    else:
        mosaic("images", "build")  # only what is missing: nothing when all are there
    tag = images.Revision.of(ROOT).tag  # after the build: the tree it was built from
    result["revision"] = tag
    sizes_mb = {k: round(v / 1e6) for k, v in sizes(tag).items()}
    result["sizes_mb"] = sizes_mb

    colds, warms = [], []
    for run in range(1, args.runs + 1):
        cold, warm = compose_run()
        console.print(f"run {run}: compose up to ready: cold {cold:.1f} s, warm {warm:.1f} s")
        colds.append(cold)
        warms.append(warm)
    result["up_cold_s"] = [round(c, 1) for c in colds]
    result["up_warm_s"] = [round(w, 1) for w in warms]

    table = Table(title=f"images of {tag}")
    table.add_column("image")
    table.add_column("MB", justify="right")
    for name, size in sizes_mb.items():
        table.add_row(name, str(size))
    console.print(table)
    console.print(
        f"compose up → ready: cold median {statistics.median(colds):.1f} s, "
        f"warm median {statistics.median(warms):.1f} s"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
