"""`mosaic admin run SERVICE TASK [ARGS...]`: one run of a one-off task ([tool.mosaic.tasks])
or of a scheduled job, now, against the running `mosaic up`, with the environment that
runner gives the service's jobs (its release and config: database, cache, credentials).

A task runs in the caller's folder, so a file it is given is read where the operator is; a
job runs in its service's folder, as its scheduled runs do. ARGS go to the command as they
are, each one argument (no shell quoting in between).
"""

import subprocess
from pathlib import Path

from mosaic.errors import UsageError
from mosaic.jobs import running_env
from mosaic.procfile import argv_with_arguments
from mosaic.services import discover_services


def run_now(
    home: Path, services_dir: Path, service_name: str, name: str, arguments: list[str]
) -> int:
    known = discover_services(services_dir)
    service = next((s for s in known if s.name == service_name), None)
    if service is None:
        raise UsageError(
            f"no service named {service_name!r}",
            f"Services here: {', '.join(sorted(s.name for s in known))}.",
        )
    job = next((j for j in service.jobs if j.name == name), None)
    if name in service.tasks:
        command, cwd = service.tasks[name], Path.cwd()
    elif job is not None:
        command, cwd = job.command, service.folder
    else:
        names = ", ".join([*service.tasks, *(j.name for j in service.jobs)]) or "none"
        raise UsageError(
            f"{service_name} has no task or job named {name!r}",
            f"Its tasks and jobs ([tool.mosaic.tasks] and [tool.mosaic.jobs] in "
            f"{service.folder / 'pyproject.toml'}): {names}.",
        )
    env = running_env(home, service_name)
    argv = argv_with_arguments(command, arguments)
    result = subprocess.run(argv, cwd=cwd, env={**env, "MOSAIC_PROCESS": name}, check=False)
    code = result.returncode
    return code if code >= 0 else 128 - code  # killed by a signal: as a shell says
