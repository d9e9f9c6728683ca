"""The shop under compose that the container stage's tests share: where it answers, its
project and home, and `mosaic deploy compose` on it."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from mosaic.deploy_compose import ComposeDeployment

ROOT = Path(__file__).resolve().parents[2]
UP_SECONDS = 900  # images are built by the `tag` fixture; this is the start itself


@dataclass
class Shop:
    url: str
    mailbox: str
    project: str
    home: Path
    output: str  # what `up` printed
    deployment: ComposeDeployment
    down: bool = False

    def mosaic(
        self, command: str, *args: str, timeout: float = UP_SECONDS
    ) -> subprocess.CompletedProcess[str]:
        """`mosaic deploy compose COMMAND --project P ARGS` on this shop's home (the project
        first: what follows `call`'s arguments is the container's command)."""
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "mosaic",
                "deploy",
                "compose",
                command,
                "--project",
                self.project,
                *args,
            ],
            cwd=ROOT,
            env={**os.environ, "MOSAIC_HOME": str(self.home)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def mail(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.mailbox}/messages.json", timeout=10)
        answer.raise_for_status()
        messages: list[dict[str, Any]] = answer.json()["messages"]
        return messages
