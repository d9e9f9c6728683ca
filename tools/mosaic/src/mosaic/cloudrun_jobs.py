"""The one-off and scheduled parts of deploy/cloudrun (see cloudrun.py): Cloud Run jobs for
provisioning, each release and each scheduled job; Cloud Scheduler's triggers; and who may
invoke each service.

Scheduled jobs: Cloud Scheduler runs a job at most once a minute (cron), where the runner
and compose run orders' recovery every 30 s: a saga stuck by a crash or a callee outage is
driven on up to a minute later, not 30 s (the shopper's answer at checkout never waits for
it), as with the Kubernetes CronJob. Cloud Run jobs have no `concurrencyPolicy`: a task
timeout under the period ends a pass before the next one starts instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mosaic.cloudrun import (
    CLOUDRUN_DIR,
    HEADER,
    LABEL_PROCESS,
    MEMORY,
    PROJECT_ID,
    REGION,
    image,
    labels,
    process_container,
    revision_annotations,
    service_account,
    volumes,
    vpc_annotations,
)
from mosaic.compose import ADMIN_DIR
from mosaic.images import TOOLS
from mosaic.schedules import cron_schedule, period_minutes
from mosaic.services import Job, Service

JOBS_DIR = CLOUDRUN_DIR / "jobs"
IAM_DIR = CLOUDRUN_DIR / "iam"
PROVISION = "provision"
PROVISIONED_BUCKET = f"{PROJECT_ID}-mosaic-provisioned"  # private: provisioning's --out
SCHEDULER = "scheduler"  # the service account Cloud Scheduler runs jobs as
RELEASE_TIMEOUT = 600  # seconds; migrations take seconds, a lock wait on a busy table longer
INVOKER = "roles/run.invoker"


def jobs(services: list[Service]) -> dict[Path, dict[str, Any]]:
    files = {JOBS_DIR / f"{PROVISION}.yaml": _provision()}
    for svc in services:
        if svc.release is not None:
            files[JOBS_DIR / f"{svc.name}-release.yaml"] = _release(svc, services)
        for job in svc.jobs:
            files[JOBS_DIR / f"{svc.name}-{job.name}.yaml"] = _scheduled(svc, job, services)
    return files


def _job(
    name: str,
    job_labels: dict[str, str],
    annotations: dict[str, str],
    task: dict[str, Any],
) -> dict[str, Any]:
    return {
        "apiVersion": "run.googleapis.com/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": {"cloud.googleapis.com/location": REGION, **job_labels},
        },
        "spec": {
            "template": {
                "metadata": {"labels": job_labels, "annotations": annotations},
                "spec": {"parallelism": 1, "taskCount": 1, "template": {"spec": task}},
            }
        },
    }


def _release(svc: Service, services: list[Service]) -> dict[str, Any]:
    # Run by the operator (`gcloud run jobs execute --wait`) before the new revision's
    # `services replace`; the old revision serves meanwhile, so a migration must suit both
    # (expand, then contract). chassis.migrations' advisory lock makes a second run wait.
    assert svc.release is not None  # jobs() asks only for services with a release
    task = {
        "serviceAccountName": service_account(svc.name),
        "maxRetries": 0,  # a failed migration needs a person, not a retry
        "timeoutSeconds": RELEASE_TIMEOUT,
        "containers": [process_container(svc, "release", svc.release, services)],
        "volumes": volumes(svc),
    }
    return _job(f"{svc.name}-release", labels(svc, "release"), revision_annotations(svc), task)


def _scheduled(svc: Service, job: Job, services: list[Service]) -> dict[str, Any]:
    minutes = period_minutes(job.cron, job.every)
    task = {
        "serviceAccountName": service_account(svc.name),
        "maxRetries": 0,  # the next scheduled run is the retry
        # Under the period: a pass still running when the next is due is stopped, as the
        # Kubernetes CronJob's Forbid keeps passes from overlapping.
        "timeoutSeconds": min(60 * minutes - 10, 3600),
        "containers": [process_container(svc, job.name, job.command, services)],
        "volumes": volumes(svc),
    }
    name = f"{svc.name}-{job.name}"
    return _job(name, labels(svc, job.name), revision_annotations(svc), task)


def _provision() -> dict[str, Any]:
    # `mosaic admin provision`, the runner's code, in the tools image: it reaches Cloud SQL
    # through the VPC, reads the admin URLs from Secret Manager and writes
    # each service's URLs into a private bucket, from which the operator makes the services'
    # secrets (docs/deploy.md). Idempotent: its passwords stay in the bucket's secrets.json.
    admin = {
        name: {
            "secretName": f"mosaic-{name}-admin-url",
            "items": [{"key": "latest", "path": "url"}],
        }
        for name in ("postgres", "valkey")
    }
    command = ["mosaic", "admin", PROVISION]
    for name in admin:
        command += [f"--{name}-admin-url-file", f"{ADMIN_DIR}/{name}/url"]
    # Memorystore refuses ACL commands: the job writes the services' users as an ACL policy
    # (OUT/valkey-acl-policy.yaml) for the operator to apply; Valkey's URL says only where.
    command += ["--valkey-users", "external", "--out", "/out", "--wait", "120"]
    bucket = {"bucketName": PROVISIONED_BUCKET}
    out = {"driver": "gcsfuse.run.googleapis.com", "readOnly": False, "volumeAttributes": bucket}
    mounts = [{"name": f"{n}-admin-url", "mountPath": f"{ADMIN_DIR}/{n}"} for n in admin]
    container = {
        "name": PROVISION,
        "image": image(TOOLS),
        "command": command,
        # The services' [tool.mosaic] tables travel in the tools image.
        "env": [{"name": "MOSAIC_SERVICES_DIR", "value": "/app/services"}],
        "resources": {"limits": {"cpu": "1", "memory": MEMORY}},
        "volumeMounts": [*mounts, {"name": "out", "mountPath": "/out"}],
    }
    task = {
        "serviceAccountName": service_account(PROVISION),
        "maxRetries": 0,
        "timeoutSeconds": RELEASE_TIMEOUT,
        "containers": [container],
        "volumes": [
            *({"name": f"{n}-admin-url", "secret": s} for n, s in admin.items()),
            {"name": "out", "csi": out},
        ],
    }
    annotations = vpc_annotations(cloud_sql=True)
    return _job(PROVISION, {LABEL_PROCESS: PROVISION}, annotations, task)


def invoker_policies(
    services: list[Service], edges: list[tuple[str, str]]
) -> dict[Path, dict[str, Any]]:
    """Per service with callers, `roles/run.invoker` for exactly their service accounts (the
    operator's `admin` is a service account people impersonate); the edge's for everyone."""
    files: dict[Path, dict[str, Any]] = {}
    for svc in services:
        callers = sorted({a for a, b in edges if b == svc.name})
        members = (
            ["allUsers"] if svc.edge else [f"serviceAccount:{service_account(c)}" for c in callers]
        )
        if members:
            files[IAM_DIR / f"{svc.name}.yaml"] = {
                "bindings": [{"role": INVOKER, "members": members}]
            }
    return files


def schedule_script(services: list[Service]) -> str:
    """The Cloud Scheduler trigger of each scheduled job, as the commands to create it."""
    lines = [
        "#!/bin/sh",
        HEADER.rstrip("\n"),
        "# Cloud Scheduler runs each scheduled job through the Cloud Run Admin API, as the",
        f"# `{SCHEDULER}` service account, which may run exactly these jobs.",
        "set -eu",
    ]
    for svc in services:
        for job in svc.jobs:
            name = f"{svc.name}-{job.name}"
            account = service_account(SCHEDULER)
            uri = (
                f"https://{REGION}-run.googleapis.com/apis/run.googleapis.com/v1/"
                f"namespaces/{PROJECT_ID}/jobs/{name}:run"
            )
            lines += [
                f"gcloud run jobs add-iam-policy-binding {name} --region={REGION} \\",
                f"  --member=serviceAccount:{account} --role={INVOKER}",
                # create once, update after: the script may run again (a new schedule).
                f"if gcloud scheduler jobs describe {name} --location={REGION} >/dev/null 2>&1;"
                " then verb=update; else verb=create; fi",
                f'gcloud scheduler jobs "$verb" http {name} --location={REGION} \\',
                f"  --schedule='{cron_schedule(job.cron, job.every)}' --http-method=POST \\",
                f"  --uri={uri} \\",
                f"  --oauth-service-account-email={account}",
            ]
    return "\n".join(lines) + "\n"
