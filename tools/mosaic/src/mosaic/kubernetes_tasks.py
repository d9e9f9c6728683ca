"""One-off work on Kubernetes as a Job: a service's task (`mosaic deploy k8s task`) and a
restore of the backup claim (`mosaic deploy k8s restore`), printed for `kubectl apply -f -`.

A task's Job runs in a pod like the service's own CronJobs' (kubernetes.py): its image, its
ServiceAccount, Secrets and environment (MOSAIC_PROCESS the task's name), its labels
(`app.kubernetes.io/name` the service, `component` `task`), so the network policies and mesh
rules that admit the service's pods admit it, and nothing is rendered for it in advance. Its
command is the task's from [tool.mosaic.tasks] with the arguments given, each one argument.

A file the task reads (`catalog import-products FILE.csv`) travels in a ConfigMap printed
with the Job (at most `MAX_FILE_BYTES`: a ConfigMap holds 1 MiB), mounted read-only at
`FILES_DIR`; an argument naming that file is pointed at its mount. What the task writes to
stdout is its pod's log: `kubectl logs job/NAME`. Larger files: `kubectl exec -i` into a
running pod with the file on stdin (docs/operations.md, "One-off tasks").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mosaic.errors import UsageError
from mosaic.kubernetes import NAMESPACE
from mosaic.kubernetes_pods import PART_OF, job_container, pod_spec
from mosaic.procfile import argv_with_arguments
from mosaic.services import Job, Service

FILES_DIR = "/run/mosaic/task"
MAX_FILE_BYTES = 1_000_000  # a ConfigMap's 1 MiB, less its other fields
TASK = "task"  # the pods' component label


def task_name(service: str, task: str) -> str:
    """The Job's default name: `<service>-<task>`, a DNS label."""
    return re.sub(r"[^a-z0-9-]", "-", f"{service}-{task}".lower())[:63].strip("-")


def task_manifests(
    service: Service,
    task: str,
    arguments: list[str],
    files: list[Path] | None = None,
    name: str | None = None,
) -> list[dict[str, Any]]:
    """The Job running `service`'s `task` with `arguments`, after the ConfigMap of `files`."""
    if task not in service.tasks:
        raise UsageError(
            f"{service.name} has no task named {task!r}",
            f"Its tasks ([tool.mosaic.tasks]): {', '.join(service.tasks) or 'none'}.",
        )
    name = name or task_name(service.name, task)
    labels = {"app.kubernetes.io/name": service.name, "app.kubernetes.io/component": TASK}
    labels |= PART_OF
    data = _file_data(files or [])
    given = {str(f): f"{FILES_DIR}/{f.name}" for f in files or []}
    container = job_container(service, Job(task, service.tasks[task], None, "0 0 * * *"))
    container["command"] = argv_with_arguments(
        service.tasks[task], [given.get(a, a) for a in arguments]
    )
    pod = pod_spec(service, [container], labels, restart="Never")
    documents: list[dict[str, Any]] = []
    if data:
        documents.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
                "data": data,
            }
        )
        container["volumeMounts"].append(
            {"name": "files", "mountPath": FILES_DIR, "readOnly": True}
        )
        pod["volumes"].append({"name": "files", "configMap": {"name": name}})
    documents.append(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
            "spec": {
                "backoffLimit": 0,  # a task is run again by a person, not retried
                "activeDeadlineSeconds": 60 * 60,
                "ttlSecondsAfterFinished": 24 * 60 * 60,  # its log stays a day
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
        }
    )
    return documents


def _file_data(files: list[Path]) -> dict[str, str]:
    data = {}
    for file in files:
        try:
            text = file.read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"--file {file}: {error}") from None
        if len(text.encode()) > MAX_FILE_BYTES:
            raise UsageError(
                f"--file {file}: over {MAX_FILE_BYTES:,} bytes, more than a ConfigMap holds",
                "Run the task in a running pod with the file on stdin: kubectl exec -i "
                "(docs/operations.md, One-off tasks).",
            )
        data[file.name] = text
    return data
