"""How often and how patiently a process's ops port is probed: the one place for the numbers
that `mosaic up` (mosaic.liveness), Kubernetes (kubernetes_pods), Cloud Run (cloudrun) and
compose (compose) use, so a wedged process is treated the same way everywhere.

- startup, /healthz: the process serves at all; liveness waits for it (Kubernetes, Cloud Run).
  The runner instead polls /readyz every PROBE_INTERVAL until the first 200 (a fast start).
- readiness, /readyz: it serves and its own backing services answer; decides traffic in
  Kubernetes, the state `mosaic status` shows (ready / unready) under the runner.
- liveness, /healthz: it answers at all (its event loop turns); never depends on a backing
  service, so a database outage restarts nothing. FAILURES consecutive misses (no answer
  within TIMEOUT, or not 200) and the process is killed and restarted: a silent process is
  replaced within `LIVENESS.patience` (about 12-17 s after it falls silent).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from mosaic.errors import MosaicError

# The runner's switch: "off", or "PERIOD,TIMEOUT,FAILURES" (e.g. "0.5,0.5,3" in tests, a
# longer pause in a chaos experiment). Default: LIVENESS.
LIVENESS_VARIABLE = "MOSAIC_LIVENESS"


@dataclass(frozen=True)
class Probe:
    path: str
    period: float  # seconds from one probe to the next
    timeout: float  # seconds; a later answer counts as none
    failures: int  # consecutive failures before acting on them

    @property
    def patience(self) -> float:
        """The longest a process can be silent before its probe acts (Kubernetes' count: the
        first miss may come one period after it fell silent)."""
        return self.failures * self.period + self.timeout

    def kubernetes(self) -> dict[str, Any]:
        """periodSeconds, timeoutSeconds, failureThreshold (whole seconds, as the API wants)."""
        return {
            "periodSeconds": _whole(self.period),
            "timeoutSeconds": _whole(self.timeout),
            "failureThreshold": self.failures,
        }

    def compose(self) -> dict[str, Any]:
        """interval, timeout, retries and start_period of a compose healthcheck."""
        return {
            "interval": f"{_whole(self.period)}s",
            "timeout": f"{_whole(self.timeout)}s",
            "retries": self.failures,
            "start_period": f"{_whole(STARTUP.period * STARTUP.failures)}s",
        }


STARTUP = Probe("/healthz", period=2, timeout=2, failures=30)  # up to 60 s to start
READINESS = Probe("/readyz", period=5, timeout=2, failures=2)
LIVENESS = Probe("/healthz", period=5, timeout=2, failures=3)


def runner_liveness(env: dict[str, str] | None = None) -> Probe | None:
    """The liveness probe `mosaic up` applies: LIVENESS, $MOSAIC_LIVENESS's, or None (off)."""
    value = (os.environ if env is None else env).get(LIVENESS_VARIABLE, "").strip()
    if not value:
        return LIVENESS
    if value == "off":
        return None
    try:
        period, timeout, failures = (part.strip() for part in value.split(","))
        probe = Probe(LIVENESS.path, float(period), float(timeout), int(failures))
    except ValueError:
        probe = None
    if probe is None or min(probe.period, probe.timeout) <= 0 or probe.failures < 1:
        raise MosaicError(
            f"{LIVENESS_VARIABLE}={value!r} is not a liveness probe",
            f'Set {LIVENESS_VARIABLE} to "off" or to "PERIOD,TIMEOUT,FAILURES" in seconds, '
            'e.g. "5,2,3" (the default), or unset it.',
        )
    return probe


def runner_readiness(liveness: Probe | None) -> Probe:
    """READINESS, as often as the liveness probe when that one is set faster (tests)."""
    if liveness is None or liveness.period >= READINESS.period:
        return READINESS
    return Probe(READINESS.path, liveness.period, liveness.timeout, READINESS.failures)


def _whole(seconds: float) -> int:
    if seconds != int(seconds) or seconds < 1:
        raise ValueError(f"{seconds} s: deployments take whole seconds, at least 1")
    return int(seconds)
