"""`mosaic deploy compose call`: a compose command on the deployment's file, project and
environment (what docs/operations.md's compose recipes run), with the caller's stdin and
stdout; checked with a stand-in engine that reports what it was given (no container)."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from mosaic.compose import COMPOSE_FILE
from mosaic.images import Revision

ROOT = Path(__file__).resolve().parents[3]
REPORTER = """#!{python}
import json, os, sys
print(json.dumps({{"argv": sys.argv[1:], "state": os.environ.get("MOSAIC_STATE"),
                  "tag": os.environ.get("MOSAIC_TAG"), "stdin": sys.stdin.read()}}))
sys.exit(3)
"""


def test_call_runs_compose_on_the_deployment_with_the_callers_stdin_and_stdout(
    tmp_path: Path,
) -> None:
    docker = tmp_path / "docker"
    docker.write_text(REPORTER.format(python=sys.executable))
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    home = tmp_path / "home"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mosaic.deploy_compose import ComposeDeployment\n"
        "from mosaic.engine import Engine\n"
        f"d = ComposeDeployment(Path({str(ROOT)!r}), Path({str(home)!r}), Path('.'),"
        f" Engine('docker', {str(docker)!r}), print, 'drill')\n"
        "sys.exit(d.call(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "run", "--rm", "provision", "mosaic", "admin", "backup"],
        input="id,name\n",
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    seen = json.loads(done.stdout)
    assert seen["argv"] == [
        "compose",
        "--file",
        str(ROOT / COMPOSE_FILE),
        "--project-name",
        "drill",
        "run",
        "--no-deps",
        "--rm",
        "provision",
        "mosaic",
        "admin",
        "backup",
    ]  # fmt: skip  (the shop is up: its dependencies are not brought up again)
    assert seen["state"] == str(home / "compose")
    assert seen["tag"] == Revision.of(ROOT).tag
    assert seen["stdin"] == "id,name\n"
