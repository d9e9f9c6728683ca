"""`mosaic test`: the whole test suite, as CI and a newcomer run it.

Static checks first (they take seconds and explain themselves), then pytest over every
package. Each step is a separate process from the workspace's own environment.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

console = Console(stderr=True)


def _steps(root: Path, pytest_args: Sequence[str]) -> list[tuple[str, list[str]]]:
    bin_dir = Path(sys.executable).parent
    return [
        ("ruff lint", [str(bin_dir / "ruff"), "check", "--no-cache", "."]),
        ("ruff format", [str(bin_dir / "ruff"), "format", "--check", "--no-cache", "."]),
        ("mypy (strict)", [str(bin_dir / "mypy")]),
        ("pytest", [str(bin_dir / "pytest"), *pytest_args]),
    ]


def run_checks(root: Path, pytest_args: Sequence[str], *, static: bool = True) -> int:
    """Run every step, stop at the first failure, return its exit code (0 when all pass)."""
    steps = _steps(root, pytest_args)
    if not static:
        steps = steps[-1:]
    for index, (name, command) in enumerate(steps, start=1):
        console.rule(f"[bold]{index}/{len(steps)} {name}")
        started = time.monotonic()
        code = subprocess.run(command, cwd=root, check=False).returncode
        took = time.monotonic() - started
        if code != 0:
            console.print(f"[red]✗ {name} failed (exit {code}) after {took:.0f} s[/red]")
            if name.startswith("ruff format"):
                console.print("  fix with: .venv/bin/ruff format .")
            return code
        console.print(f"[green]✓ {name}[/green] ({took:.0f} s)")
    return 0
