"""The variable names `mosaic up` gives a process, for the tests that hold Kubernetes and
Cloud Run to the same names (no drift between the runner and a deployment)."""

import os
from pathlib import Path
from unittest import mock

from mosaic.backing.service_secrets import provisioned_variables
from mosaic.containers import WEB
from mosaic.pki.files import ServiceFiles
from mosaic.plan import ProcessPlan, identity_env, process_env, service_env, tracing_env
from mosaic.services import Service

# What the runner sets that a container does not, and why:
RUNNER_ONLY = {
    "PATH", "VIRTUAL_ENV", "PYTHONUNBUFFERED",  # the image's own ENV: its interpreter
    "MOSAIC_REPLICA",  # a pod has no replica number: its name tells replicas apart
    # where the runner receives spans, and how soon; a deployment has no collector yet
    "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_BSP_SCHEDULE_DELAY",
    # every order's trace kept for the newcomer; a deployment samples at its ratio alone
    "MOSAIC_TRACE_WRITES_PER_SECOND",
}  # fmt: skip
NOT_WEB_ONLY = {"PORT"}  # the runner gives every process PORT; a relay or worker serves no API


def runner_names(services: list[Service], service: Service, kind: str) -> set[str]:
    """The variable names `mosaic up` gives process type `kind` of `service`."""
    ports = {s.name: 1 for s in services}
    urls = dict.fromkeys(provisioned_variables(service), "x")
    if "smtp" in service.backing:
        urls["SMTP_URL"] = "smtp://x"
    files = ServiceFiles(service.name, Path("/i"), Path("/t"), Path("/c"))
    with mock.patch.dict(os.environ, {}, clear=True):  # nothing inherited from this test
        env = service_env(service, ports, urls, identity_env(files, "mtls"), shop_url="http://x")
        env |= tracing_env("http://x", service)
        env = process_env(env, ProcessPlan(service, kind, 1, 1, 1))
    return set(env) - RUNNER_ONLY - (set() if kind == WEB else NOT_WEB_ONLY)
