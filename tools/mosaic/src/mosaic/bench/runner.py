"""One mode's bench, phase by phase: the shop up, idle, warm-up, each flow closed loop, the
mix step by step; the figures of each phase, with the shop's CPU over its window."""

import resource
import signal
import time
from collections.abc import Mapping
from typing import Any

from mosaic.bench.analysis import knee, mix_capacity, saturated_by
from mosaic.bench.loadgen import LoadgenProcess, LoadRun
from mosaic.bench.options import BenchOptions, Budget
from mosaic.bench.processes import Sample, Sampler
from mosaic.bench.progress import PhaseProgress
from mosaic.bench.results import TOTAL_FIELDS
from mosaic.bench.shop import Shop
from mosaic.errors import MosaicError

START_PLAN = 30.0  # seconds planned for a `mosaic up` to be ready (a fresh home)
STOP_PLAN = 10.0
RUN_OVERHEAD = 4.0  # a loadgen run's start-up and set-up (sign-ins, carts), besides its time
STEP_OVERHEAD = 5.0  # the same for an open-loop run: more users to set up


def planned_seconds(budget: Budget, modes: int, starts: bool, floor: bool = False) -> float:
    """The plan behind the progress bar and its "time left"."""
    page = budget.page_warmup + budget.pages
    pages = (2 * page + RUN_OVERHEAD) * min(modes, 1) + page + START_PLAN
    runs = len(budget.flows) + budget.max_steps + 1
    loads = (
        budget.idle
        + budget.warmup
        + len(budget.flows) * budget.closed
        + budget.max_steps * budget.step
        + runs * budget.run_warmup
        + (len(budget.flows) + 1) * RUN_OVERHEAD
        + budget.max_steps * STEP_OVERHEAD
    )
    shops = modes * (loads + ((START_PLAN + STOP_PLAN) if starts else 0.0))
    return shops + (pages if floor else 0.0)


class ModeBench:
    def __init__(self, mode: str, options: BenchOptions, progress: PhaseProgress) -> None:
        self.mode = mode
        self.options = options
        self.budget = options.budget
        self.progress = progress
        self.work = options.out / "runs" / mode
        self.seed = options.seed
        self.shop: Shop | None = None
        self.sampler: Sampler | None = None
        self.result: dict[str, Any] = {}
        self.memory: dict[str, Any] = {}
        self._loadgen: LoadgenProcess | None = None

    def close(self) -> None:
        """Stop the load, then the shop; a second Ctrl-C meanwhile must not leave it running
        (it runs in its own session), so Ctrl-C waits until this is done."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if self._loadgen is not None:
                self._loadgen.stop()
            if self.sampler is not None:
                self.sampler.stop()
            if self.shop is not None:
                self.progress.phase(f"{self.mode}: stopping the shop", STOP_PLAN)
                self.shop.stop()
                self.shop = None
        finally:
            signal.signal(signal.SIGINT, previous)

    # The phases, in order; run.py calls them mode after mode, or interleaved.

    def launch(self) -> None:
        """Start `mosaic up` (not waiting for it), or attach to the running shop."""
        self.work.mkdir(parents=True, exist_ok=True)
        options = self.options
        if options.url is None and options.home is None:
            log = options.out / f"{self.mode}-up.log"
            self.shop = Shop.launch(self.mode, log, options.up_args)
        else:
            self.shop = Shop.attach(options.url, options.home)

    def wait_ready(self) -> None:
        assert self.shop is not None
        if self.shop.started:
            self.progress.phase(f"{self.mode}: starting the shop", START_PLAN)
            self.shop.wait_ready(self.options.ready_timeout, self.progress.refresh)

    def begin(self) -> None:
        """Once every shop is ready: start sampling, then measure this one idle."""
        assert self.shop is not None
        shop, budget = self.shop, self.budget
        self.sampler = sampler = Sampler(shop.home, self.options.sample_interval)
        self.result.update(
            mode=self.mode,
            url=shop.url,
            started_by_bench=shop.started,
            ready_seconds=shop.ready_seconds,
            processes=_processes(shop.processes()),
            cpu_measured=shop.home is not None,
            closed={},
            steps=[],
            saturation={"reached": False, "step": None, "reasons": []},
        )
        sampler.start()
        self.progress.phase(f"{self.mode}: idle", budget.idle)
        idle_start = sampler.sample()
        time.sleep(budget.idle)
        idle = sampler.between(idle_start.at, sampler.sample().at)
        self.result["idle"] = {"seconds": idle.seconds, "cpu": idle.as_json(0)}
        self.memory["idle"] = _memory(sampler.sample(proportional=True))

    def warm_up(self) -> None:
        budget = self.budget
        run = LoadRun("warmup", "mix", budget.warmup_users, budget.warmup, 0.0, None, self.seed)
        self.result["warmup"] = self._load(run, "warming up (the mix)")
        assert self.sampler is not None
        self.memory["before_load"] = _memory(self.sampler.sample(proportional=True))

    def closed(self, flow: str) -> None:
        budget = self.budget
        users = budget.closed_users
        run = LoadRun(
            f"closed/{flow}", flow, users, budget.closed, budget.run_warmup, None, self.seed
        )
        self.result["closed"][flow] = self._load(run, f"closed loop: {flow}, {users} users")

    @property
    def capacity(self) -> float | None:
        """The mix's capacity estimated from the closed-loop runs."""
        return mix_capacity(self.result["closed"])

    @property
    def saturated(self) -> bool:
        return bool(self.result["saturation"]["reached"])

    def step(self, index: int, rate: float, of: int) -> None:
        """One step of the step load; marks the mode saturated when it is."""
        budget = self.budget
        run = LoadRun(
            f"step/{index}",
            "mix",
            budget.max_in_flight,
            budget.step,
            budget.run_warmup,
            rate,
            self.seed,
        )
        step = self._load(run, f"step {index}/{of}: the mix at {rate:g}/s")
        reasons = saturated_by(step, rate, budget.step, self.options.saturation)
        step.update(offered=rate, step=index, saturated_by=reasons)
        self.result["steps"].append(step)
        if reasons:
            self.result["saturation"] = {
                "reached": True,
                "step": index,
                "offered_rps": rate,
                "reasons": reasons,
            }

    def half_rate(self, rate: float) -> None:
        """The product page alone, open loop at `rate`: issue 16's p95 at half the rate the
        pages phase achieved (the load generator paces; wrk 4 cannot)."""
        budget = self.budget
        run = LoadRun(
            "half/browse",
            "browse",
            budget.max_in_flight,
            budget.pages,
            budget.run_warmup,
            rate,
            self.seed,
        )
        self.result["half_rate"] = self._load(run, f"the product page, open loop at {rate:g}/s")

    def end(self, planned: list[float]) -> dict[str, Any]:
        """The figures of this mode, complete; stops sampling (the shop stops in close())."""
        assert self.sampler is not None
        self.memory["after"] = _memory(self.sampler.sample(proportional=True))
        self.sampler.stop()
        self.result.update(
            estimated_mix_capacity_rps=self.capacity,
            planned_rates=planned,
            knee=knee(self.result["steps"], self.options.saturation),
            rss=self.memory,
        )
        return self.result

    def _load(self, run: LoadRun, what: str) -> dict[str, Any]:
        """One loadgen run, with the shop's CPU over its measured window."""
        assert self.shop is not None and self.sampler is not None
        overhead = RUN_OVERHEAD if run.rate is None else STEP_OVERHEAD
        self.progress.phase(f"{self.mode}: {what}", run.duration + run.warmup + overhead)
        out = self.work / (run.name.replace("/", "-") + ".json")
        self._loadgen = LoadgenProcess(run, self.shop.url, out, self.shop.mailbox)
        self.sampler.sample()

        def on_progress(line: dict[str, Any]) -> None:
            rps, flight = line.get("rps"), line.get("in_flight")
            detail = f" · {rps:.0f}/s" if isinstance(rps, int | float) else ""
            detail += f" · {flight} in flight" if isinstance(flight, int) else ""
            self.progress.progress.update(
                self.progress.task,  # type: ignore[arg-type]
                description=f"{self.mode}: {what}{detail}",
            )

        before = _children_cpu()
        try:
            result = self._loadgen.execute(on_progress, timeout=run.duration + run.warmup + 120)
        except MosaicError as error:
            if self.shop.log_path is not None:  # e.g. its pages answer 500: the why is there
                error.hint = f"{error.hint} The shop's own log: {self.shop.log_path}".strip()
            raise
        finally:
            self._loadgen = None
        loadgen_cpu = _children_cpu() - before  # its whole run, set-up and warm-up included
        finished = self.sampler.sample().at
        window = result.get("window") or {}
        start, end = window.get("start"), window.get("end")
        if not isinstance(start, int | float) or not isinstance(end, int | float):
            start, end = finished - run.duration, finished  # loadgen gave no window
        total = dict(result["total"])
        cost = self.sampler.between(float(start), float(end))
        return {
            **{k: total.get(k) for k in TOTAL_FIELDS},
            "flow": run.flow,
            "loop": "open" if run.rate is not None else "closed",
            "users": run.users,
            "rate": run.rate,
            "duration": run.duration,
            "window": {"start": start, "end": end},
            "started_at": result.get("started_at"),
            "finished_at": result.get("finished_at"),
            "error_rate": (total.get("failures") or 0) / total["requests"]
            if total.get("requests")
            else 0.0,
            "cpu": cost.as_json(int(total.get("requests") or 0))
            if self.shop.home is not None
            else None,
            "late_arrivals": result.get("late_arrivals"),
            "loadgen_cpu_seconds": loadgen_cpu,
            "flows": result.get("flows", {}),
            "errors": result.get("errors", []),
            "setup_errors": result.get("setup_errors", []),
            "result_file": str(out),
        }


def _children_cpu() -> float:
    """CPU seconds of this process's children that have exited (been waited for): across
    one load generator run, the load generator's own."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _memory(sample: Sample) -> dict[str, Any]:
    """RSS per service (summed over its processes: shared pages count in each), and PSS
    (each shared page split between its sharers: the sum is the whole system's memory)."""

    def totals(per_service: Mapping[str, int]) -> dict[str, Any]:
        services = sum(v for k, v in per_service.items() if k not in sample.backing)
        return {
            "per_service": dict(sorted(per_service.items())),
            "services": services,
            "with_backing": sum(per_service.values()),
        }

    return {**totals(sample.rss), "pss": totals(sample.pss) if sample.pss else None}


def _processes(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("name", "service", "process", "pid")
    return [{k: e.get(k) for k in keep} for e in entries]
