"""What one `mosaic bench` run does, and how long each phase lasts."""

from dataclasses import dataclass, field, replace
from pathlib import Path

# Each flow alone in the closed-loop phase, in the order they run (loadgen's names).
FLOWS = ("home", "browse", "cart", "currency", "add", "checkout", "history")
# The flows the project steers by, and their targets (microservices ÷ in-process).
TARGETS = {"browse": {"cpu": 2.0, "p50": 3.0}, "checkout": {"cpu": 2.0, "p50": 3.0}}

MICROSERVICES = "microservices"
IN_PROCESS = "in_process"
FLOOR = "floor"  # bench/floor.py: the bare page every page of ours is measured against


@dataclass(frozen=True)
class Saturation:
    """When a step of the step load counts as saturated (any one is enough)."""

    max_dropped: float = 0.01  # share of offered arrivals dropped (in flight limit hit)
    max_error_rate: float = 0.01  # failures ÷ requests
    p99_limit_ms: float = 1000.0
    min_achieved: float = 0.90  # achieved ÷ offered rate
    # The knee: the highest offered rate below the first saturated step whose p99 stays
    # within knee_p99_factor x the lowest p99 of any step, achieving ≥ knee_achieved of
    # the offered rate, below the error and drop bounds.
    knee_p99_factor: float = 2.0
    knee_achieved: float = 0.95


@dataclass(frozen=True)
class Budget:
    """Seconds and users per phase. The defaults fit `--compare` in 10 minutes on 2 cores."""

    idle: float = 3.0  # measure idle CPU and RSS after ready, before any load
    warmup: float = 10.0  # the mix, closed loop, not measured
    warmup_users: int = 8
    closed: float = 10.0  # per flow, measured
    closed_users: int = 4
    step: float = 8.0  # per step, measured
    run_warmup: float = 1.0  # each loadgen run's own unmeasured lead-in
    max_steps: int = 6
    step_factor: float = 1.5  # each step offers this many times the previous rate
    start_rate: float = 0.0  # arrivals/s of the first step; 0: a quarter of the estimate
    max_in_flight: int = 64  # open loop: arrivals beyond this many in flight are dropped
    flows: tuple[str, ...] = FLOWS
    pages: float = 10.0  # the pages phase: seconds of wrk per page, measured
    page_warmup: float = 5.0  # wrk against the same page first, not measured: pools, caches
    page_connections: int = 32

    def quick(self) -> "Budget":
        """A few seconds per phase, few users: for tests and smoke runs."""
        return replace(
            self,
            idle=0.5,
            warmup=1.0,
            warmup_users=2,
            closed=2.0,
            closed_users=2,
            step=1.5,
            run_warmup=0.0,
            max_steps=2,
            max_in_flight=16,
            pages=2.0,
            page_warmup=2.0,
        )


@dataclass(frozen=True)
class BenchOptions:
    out: Path
    modes: tuple[str, ...] = (MICROSERVICES,)
    url: str | None = None  # a running shop instead of starting one
    home: Path | None = None  # its $MOSAIC_HOME, for the pids (CPU, RSS)
    budget: Budget = field(default_factory=Budget)
    saturation: Saturation = field(default_factory=Saturation)
    up_args: tuple[str, ...] = ()  # passed on to `mosaic up`
    ready_timeout: float = 180.0
    sample_interval: float = 0.5  # seconds between CPU/RSS samples of the shop's processes
    seed: int = 1
    quick: bool = False
    interleave: bool = True  # --compare: each phase mode after mode, both shops up at once
    floor: bool = False  # run the floor page (bench/floor.py) and the pages phase too

    @property
    def compare(self) -> bool:
        return len(self.modes) > 1
