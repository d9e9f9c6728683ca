"""`mosaic admin run SERVICE JOB`: one run of a scheduled job, now, against the running
`mosaic up`, with the environment that runner gives the service's jobs."""

import subprocess
from pathlib import Path

from mosaic.errors import MosaicError, UsageError
from mosaic.jobs import load_job_env
from mosaic.procfile import shell_argv
from mosaic.services import discover_services
from mosaic.state import runner_pid


def run_now(home: Path, services_dir: Path, service_name: str, job_name: str) -> int:
    known = discover_services(services_dir)
    service = next((s for s in known if s.name == service_name), None)
    if service is None:
        raise UsageError(
            f"no service named {service_name!r}",
            f"Services here: {', '.join(sorted(s.name for s in known))}.",
        )
    job = next((j for j in service.jobs if j.name == job_name), None)
    if job is None:
        names = ", ".join(j.name for j in service.jobs) or "none"
        raise UsageError(
            f"{service_name} has no job named {job_name!r}",
            f"Its jobs ([tool.mosaic.jobs] in {service.folder / 'pyproject.toml'}): {names}.",
        )
    env = load_job_env(home, service_name) if runner_pid(home) is not None else None
    if env is None:
        raise MosaicError(
            f"Mosaic is not running on {home}"
            if runner_pid(home) is None
            else f"{service_name} is not started yet in the running `mosaic up`",
            "Start it with `./mosaic up`, then run the job again.",
        )
    argv = shell_argv(job.command)
    result = subprocess.run(
        argv, cwd=service.folder, env={**env, "MOSAIC_PROCESS": job.name}, check=False
    )
    code = result.returncode
    return code if code >= 0 else 128 - code  # killed by a signal: as a shell says
