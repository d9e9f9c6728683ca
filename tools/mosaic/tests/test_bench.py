"""mosaic bench's own machinery, on made-up figures: the knee, saturation, ratios, CPU
accounting, the results' completeness check, the plot, the tables."""

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib.image
import pytest
from mosaic.bench.analysis import knee, mix_capacity, ratios, saturated_by, step_rates
from mosaic.bench.loadgen import LoadgenProcess, LoadRun
from mosaic.bench.options import FLOWS, IN_PROCESS, MICROSERVICES, BenchOptions, Budget, Saturation
from mosaic.bench.plot import plot_steps
from mosaic.bench.processes import CpuCost, Root, Sample, Sampler, cpu_at, cpu_between, roots_of
from mosaic.bench.report import print_report
from mosaic.bench.results import machine, missing_fields, options_json
from mosaic.bench.shop import Shop
from mosaic.errors import MosaicError
from mosaic.ports import free_port
from rich.console import Console

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BOUNDS = Saturation()


def figures(rps: float, p50: float, p99: float, **extra: Any) -> dict[str, Any]:
    requests = int(rps * 10)
    return {
        "requests": requests,
        "users": 4,
        "failures": 0,
        "dropped": 0,
        "rps": rps,
        "p50_ms": p50,
        "p95_ms": (p50 + p99) / 2,
        "p99_ms": p99,
        "mean_ms": p50 * 1.1,
        "max_ms": p99 * 1.5,
        "error_rate": 0.0,
        "window": {"start": 100.0, "end": 110.0},
        "late_arrivals": 0,
        "loadgen_cpu_seconds": 1.5,
        "flows": {},
        "errors": [],
        **extra,
    }


def step(offered: float, rps: float, p99: float, **extra: Any) -> dict[str, Any]:
    return {**figures(rps, p99 / 3, p99, **extra), "offered": offered, "duration": 10.0}


# The knee


def test_the_knee_is_the_last_step_within_twice_the_lowest_p99_achieving_the_offered_rate() -> None:
    steps = [
        step(10, 10, 20),
        step(15, 15, 25),
        step(22.5, 22.4, 39),  # 1.95x the lowest p99: still in
        step(33.8, 33.0, 90),  # over 2x
        step(50.6, 40.0, 900),
    ]
    found = knee(steps, BOUNDS)
    assert found["offered_rps"] == 22.5
    assert found["step"] == 3
    assert found["reference_p99_ms"] == 20
    assert "2x the lowest p99 of any step" in found["definition"]


def test_no_step_after_a_saturated_one_counts_for_the_knee() -> None:
    # Step 2 falls short of 90% of its offered rate; step 3 recovers, but after saturation.
    steps = [step(10, 10, 20), step(15, 13, 22), step(22.5, 22.5, 25)]
    assert knee(steps, BOUNDS)["offered_rps"] == 10


def test_a_slow_first_step_neither_loosens_the_bound_nor_ends_the_curve() -> None:
    # A neighbour slowed step 1 (p99 200 ms); the bound is 2x the best p99 (20 ms).
    steps = [step(10, 10, 200), step(15, 15, 20), step(22.5, 22.5, 30), step(33.8, 33.8, 45)]
    found = knee(steps, BOUNDS)
    assert found["reference_p99_ms"] == 20
    assert found["offered_rps"] == 22.5


def test_errors_or_drops_end_the_knee() -> None:
    erring = step(15, 15, 22, failures=50)  # 50 of 150 requests
    assert knee([step(10, 10, 20), erring], BOUNDS)["offered_rps"] == 10
    dropping = step(15, 15, 22, dropped=30)  # 30 of 150 arrivals
    assert knee([step(10, 10, 20), dropping], BOUNDS)["offered_rps"] == 10


def test_the_knee_is_unknown_when_the_lowest_step_already_fails_or_nothing_ran() -> None:
    assert knee([step(10, 5, 20)], BOUNDS)["offered_rps"] is None
    assert knee([], BOUNDS)["offered_rps"] is None


def test_the_steps_are_sorted_by_offered_rate_before_looking_for_the_knee() -> None:
    assert knee([step(15, 15, 25), step(10, 10, 20)], BOUNDS)["offered_rps"] == 15


# Saturation and the rates to offer


def test_a_step_is_saturated_by_drops_errors_slow_p99_or_falling_short() -> None:
    assert saturated_by(step(10, 10, 20), 10, 10, BOUNDS) == []
    assert saturated_by(step(10, 10, 20, dropped=2), 10, 10, BOUNDS) == ["dropped arrivals"]
    assert saturated_by(step(10, 10, 20, failures=2), 10, 10, BOUNDS) == ["errors"]
    assert saturated_by(step(10, 10, 1500), 10, 10, BOUNDS) == ["p99 over 1000 ms"]
    assert saturated_by(step(10, 8, 20), 10, 10, BOUNDS) == ["achieved under 90% of offered"]


def test_the_mix_capacity_is_the_weighted_harmonic_mean_of_the_flows_rates() -> None:
    closed = {flow: {"rps": 100.0} for flow in FLOWS}
    assert mix_capacity(closed) == pytest.approx(100.0)
    closed["checkout"] = {"rps": 19.0 / 18.0 * 100 / 19.0 * 1.0}  # weight 1 of 19
    slower = mix_capacity(closed)
    assert slower is not None and slower < 100.0
    assert mix_capacity({}) is None


def test_step_rates_start_at_a_quarter_of_the_capacity_and_grow_by_the_factor() -> None:
    rates = step_rates(Budget(max_steps=4, step_factor=2.0), capacity=200.0)
    assert rates == [50.0, 100.0, 200.0, 400.0]
    assert step_rates(Budget(max_steps=2, start_rate=7.0), capacity=200.0) == [7.0, 10.5]
    assert step_rates(Budget(max_steps=1), capacity=None) == [5.0]


# Ratios


def mode(cpu_ms: float, p50: float, p99: float, low_p50: float) -> dict[str, Any]:
    per_request = {"services": cpu_ms / 2000, "with_backing": cpu_ms / 1000}
    closed = {
        flow: {**figures(100, p50, p99), "cpu": {"per_request": per_request}} for flow in FLOWS
    }
    low = step(20, 20, low_p50 * 3)
    low["flows"] = {flow: {"p50_ms": low_p50, "p99_ms": low_p50 * 3} for flow in FLOWS}
    return {"closed": closed, "steps": [low, step(30, 30, 10)]}


def test_ratios_divide_microservices_by_in_process_per_flow_and_check_the_targets() -> None:
    result = ratios(mode(cpu_ms=3, p50=8, p99=40, low_p50=6), mode(1, 2, 10, 3))
    browse = result["flows"]["browse"]
    assert browse["cpu_per_request"] == pytest.approx(3.0)
    assert browse["cpu_per_request_services"] == pytest.approx(3.0)
    assert browse["p50"] == pytest.approx(4.0)
    assert browse["p99"] == pytest.approx(4.0)
    assert browse["low_load_p50"] == pytest.approx(2.0)
    assert browse["targets"] == {
        "cpu": 2.0,
        "p50": 3.0,
        "cpu_met": False,
        "p50_met": False,
        "low_load_p50_met": True,
    }
    assert "targets" in result["flows"]["checkout"]
    assert "targets" not in result["flows"]["cart"]
    assert result["low_load_offered_rps"] == 20
    assert [s["offered_rps"] for s in result["mix_steps"]] == [20, 30]
    assert result["mix_steps"][0]["p99"] == pytest.approx(2.0)


def test_saturated_steps_give_no_mix_ratio() -> None:
    micro, floor = mode(3, 8, 40, 6), mode(1, 2, 10, 3)
    micro["steps"][1]["saturated_by"] = ["p99 over 1000 ms"]
    assert [s["offered_rps"] for s in ratios(micro, floor)["mix_steps"]] == [20]


def test_ratios_without_cpu_figures_or_a_common_step_are_none() -> None:
    micro, floor = mode(3, 8, 40, 6), mode(1, 2, 10, 3)
    for run in micro["closed"].values():
        run["cpu"] = None
    floor["steps"] = [step(25, 25, 10)]
    result = ratios(micro, floor)
    assert result["flows"]["home"]["cpu_per_request"] is None
    assert result["flows"]["home"]["low_load_p50"] is None
    assert result["low_load_offered_rps"] is None


# CPU accounting


def sample(at: float, **cpu: float) -> Sample:
    return Sample(at, cpu, dict.fromkeys(cpu, 1 << 20), frozenset({"postgres"}))


def test_cpu_of_a_window_is_interpolated_between_samples_at_its_edges() -> None:
    samples = [sample(0, web=0.0, postgres=0.0), sample(10, web=5.0, postgres=1.0)]
    assert cpu_at(samples, 5) == pytest.approx({"web": 2.5, "postgres": 0.5})
    cost = cpu_between(samples, 2, 8)
    assert cost.per_service == pytest.approx({"web": 3.0, "postgres": 0.6})
    assert cost.services == pytest.approx(3.0)
    assert cost.total == pytest.approx(3.6)
    assert cost.per_request(100) == pytest.approx({"services": 0.03, "with_backing": 0.036})
    figures = cost.as_json(100)
    assert figures["cores_busy"] == pytest.approx(0.6)


def test_the_machine_s_busy_cpu_is_interpolated_too() -> None:
    samples = [
        Sample(0, {"web": 0.0}, {}, frozenset(), machine=100.0),
        Sample(10, {"web": 5.0}, {}, frozenset(), machine=118.0),
    ]
    cost = cpu_between(samples, 5, 10)
    assert cost.machine == pytest.approx(9.0)
    assert cost.as_json(10)["machine_cores_busy"] == pytest.approx(1.8)
    assert cost.as_json(10)["cores_busy"] == pytest.approx(0.5)


def test_a_real_sample_reads_the_machine_s_cpu() -> None:
    first = Sampler(None, roots=lambda: []).sample()
    assert first.machine is not None and first.machine > 0


def test_cpu_outside_the_samples_is_clamped_to_the_first_and_last() -> None:
    samples = [sample(10, web=1.0), sample(20, web=3.0)]
    assert cpu_between(samples, 0, 30).per_service == pytest.approx({"web": 2.0})
    assert cpu_between([], 0, 1).total == 0


def test_a_service_that_appears_midway_counts_from_zero_and_none_goes_negative() -> None:
    # A process that exits and is reaped moves its time into its parent's children_*:
    # the per-service sum keeps growing; a drop (an unreaped exit) never counts below 0.
    samples = [sample(0, web=1.0), sample(1, web=0.5, worker=0.25)]
    cost = cpu_between(samples, 0, 1)
    assert cost.per_service == pytest.approx({"web": 0.0, "worker": 0.25})


def test_no_requests_means_no_cost_per_request() -> None:
    cost = CpuCost({"web": 1.0}, frozenset(), 1.0)
    assert cost.per_request(0) == {"services": None, "with_backing": None}


def test_roots_come_from_the_state_file_with_backing_servers_marked() -> None:
    state = {
        "processes": [
            {"name": "catalog.web.1", "service": "catalog", "process": "web", "pid": 11},
            {"name": "postgres", "service": "postgres", "process": "server", "pid": 12},
            {"name": "cart.web.1", "service": "cart", "process": "web", "pid": None},
            {"name": "x.web.1", "service": "x", "process": "web", "pid": 13, "state": "stopped"},
        ]
    }
    assert roots_of(state) == [Root("catalog", 11, False), Root("postgres", 12, True)]
    assert roots_of(None) == []


def test_the_sampler_counts_a_process_and_its_children_including_exited_ones() -> None:
    # A parent that burns CPU, then runs a child that burns CPU and exits (reaped).
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    code = burn + (
        "import subprocess, sys\n"
        f"subprocess.run([sys.executable, '-c', {burn!r}], check=True)\n"
        "print('done', flush=True)\n"
        "time.sleep(30)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            sampler = Sampler(None, roots=lambda: [Root("shop", parent.pid, False)])
            first = sampler.sample()
            assert parent.stdout is not None and parent.stdout.readline().strip() == "done"
            last = sampler.sample()
            spent = sampler.between(first.at, last.at)
            assert spent.per_service["shop"] >= 0.5  # both bursts, the child's after it exited
            assert last.rss["shop"] > 1 << 20
        finally:
            parent.kill()


def test_the_sampler_thread_samples_until_stopped() -> None:
    sampler = Sampler(None, interval=0.01, roots=lambda: [])
    sampler.start()
    deadline = time.monotonic() + 30
    while len(sampler.samples) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    sampler.stop()
    count = len(sampler.samples)
    assert count >= 3
    time.sleep(0.05)
    assert len(sampler.samples) == count


# Results, plot and tables


def run(rps: float, p50: float, p99: float) -> dict[str, Any]:
    cost = CpuCost({"frontend": rps * 0.004, "postgres": rps * 0.001}, frozenset({"postgres"}), 10)
    return {**figures(rps, p50, p99), "cpu": cost.as_json(int(rps * 10))}


def fake_mode(scale: float) -> dict[str, Any]:
    rss: dict[str, Any] = {"per_service": {"frontend": 80 << 20, "postgres": 60 << 20}}
    rss.update(services=80 << 20, with_backing=140 << 20)
    rss["pss"] = {**rss, "services": 60 << 20, "with_backing": 100 << 20}
    steps = []
    for index, rate in enumerate((20.0, 30.0, 45.0), start=1):
        item = {**run(rate, 5 * scale * index, 20 * scale * index), "offered": rate}
        item.update(step=index, duration=10.0, saturated_by=[])
        steps.append(item)
    return {
        "url": "http://127.0.0.1:1",
        "started_by_bench": True,
        "ready_seconds": 12.0,
        "processes": [],
        "cpu_measured": True,
        "idle": {"seconds": 3.0, "cpu": CpuCost({}, frozenset(), 3).as_json(0)},
        "warmup": run(50, 5, 20),
        "closed": {flow: run(100 / scale, 4 * scale, 16 * scale) for flow in FLOWS},
        "steps": steps,
        "estimated_mix_capacity_rps": 80.0,
        "planned_rates": [20.0, 30.0, 45.0],
        "saturation": {"reached": False, "step": None, "reasons": []},
        "knee": knee(steps, BOUNDS),
        "rss": {"idle": rss, "before_load": rss, "after": rss},
    }


def fake_results(tmp_path: Path) -> dict[str, Any]:
    modes = {MICROSERVICES: fake_mode(2.0), IN_PROCESS: fake_mode(1.0)}
    options = BenchOptions(out=tmp_path, modes=(MICROSERVICES, IN_PROCESS))
    return {
        "schema": 1,
        "started_at": "2026-01-01T00:00:00+00:00",
        "finished_at": "2026-01-01T00:01:00+00:00",
        "wall_seconds": 60.0,
        "machine": {**machine(Path.cwd()), "load_average": {"start": [0.0], "end": [0.0]}},
        "options": options_json(options),
        "modes": modes,
        "ratios": ratios(modes[MICROSERVICES], modes[IN_PROCESS]),
        "plot": str(tmp_path / "plot.png"),
    }


def test_complete_results_miss_nothing(tmp_path: Path) -> None:
    results = fake_results(tmp_path)
    assert missing_fields(results) == []
    assert results["machine"]["cpu_count"] >= 1
    assert results["machine"]["packages"]["mosaic"]


def test_the_completeness_check_names_what_is_missing(tmp_path: Path) -> None:
    results = fake_results(tmp_path)
    del results["machine"]["git_commit"]
    del results["modes"][IN_PROCESS]["closed"]["checkout"]
    del results["modes"][MICROSERVICES]["steps"][1]["p99_ms"]
    del results["modes"][MICROSERVICES]["closed"]["browse"]["cpu"]["per_request"]["services"]
    del results["ratios"]["flows"]["home"]["p50"]
    results["ratios"]["flows"]["cart"]["p50"] = None  # no cart completed in one mode: no ratio
    assert missing_fields(results) == [
        "machine.git_commit",
        "modes.microservices.closed.browse.cpu.per_request.services",
        "modes.microservices.steps.1.p99_ms",
        "modes.in_process.closed.checkout",
        "ratios.flows.home.p50",
    ]


def test_cpu_figures_are_not_required_where_they_could_not_be_measured(tmp_path: Path) -> None:
    results = fake_results(tmp_path)
    del results["modes"][IN_PROCESS]
    results["ratios"] = None
    micro = results["modes"][MICROSERVICES]
    micro["cpu_measured"] = False
    for item in [*micro["closed"].values(), *micro["steps"], micro["warmup"]]:
        item["cpu"] = None
    assert missing_fields(results) == []


def test_the_plot_is_a_png_that_decodes(tmp_path: Path) -> None:
    results = fake_results(tmp_path)
    path = plot_steps(results["modes"], tmp_path / "plot.png", "test")
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_the_plot_of_a_mode_without_steps_is_still_a_png(tmp_path: Path) -> None:
    mode = fake_mode(1.0)
    mode["steps"], mode["knee"] = [], {"offered_rps": None}
    path = plot_steps({MICROSERVICES: mode}, tmp_path / "empty.png", "no steps")
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_the_tables_show_every_flow_step_and_ratio(tmp_path: Path) -> None:
    out = io.StringIO()
    print_report(Console(file=out, width=200, color_system=None), fake_results(tmp_path))
    text = out.getvalue()
    for flow in FLOWS:
        assert flow in text
    assert "Step load" in text and "knee" in text
    assert "Microservices ÷ in-process" in text
    assert "1.00x" in text  # CPU per request: the same in both fake modes
    assert "2.00x" in text  # p50 and p99: twice as slow
    assert "mix at 20/s" in text
    assert "CPU ≤ 2x: met; p50 ≤ 3x: met (low load: ?)" in text  # no flows in its steps


def test_the_proc_reader_agrees_with_psutil_on_this_process() -> None:
    from mosaic.bench.processes import _psutil_stats, _read_stats

    ours, theirs = _read_stats()[os.getpid()], _psutil_stats()[os.getpid()]
    assert ours.ppid == theirs.ppid == os.getppid()
    assert ours.cpu == pytest.approx(theirs.cpu, abs=0.1)
    assert ours.rss == pytest.approx(theirs.rss, rel=0.2)


# The command line and the shop


def test_attaching_to_a_home_where_nothing_runs_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(MosaicError, match="no ready `mosaic up` runs on") as error:
        Shop.attach(None, tmp_path)
    assert "drop --home and --url" in error.value.hint


def test_attaching_to_a_url_where_nothing_answers_says_what_to_do() -> None:
    with pytest.raises(MosaicError, match="nothing answers at") as error:
        Shop.attach(f"http://127.0.0.1:{free_port()}", None)
    assert "drop --url" in error.value.hint


@pytest.mark.parametrize(
    "args",
    [["--compare", "--url", "http://127.0.0.1:1"], ["--compare", "--in-process"], ["--flow", "x"]],
)
def test_contradicting_or_unknown_options_are_usage_errors(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mosaic", "bench", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "mosaic:" in done.stderr


def test_help_explains_every_option() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mosaic", "bench", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    for option in ("--compare", "--in-process", "--quick", "--out", "--url", "--home", "--steps"):
        assert option in done.stdout
    assert "knee" in done.stdout


# The order of the phases


class FakeBench:
    """Records the phases run.py asks of a mode; saturates at a given step."""

    def __init__(self, mode: str, calls: list[str], saturates_at: int, fails: bool = False) -> None:
        self.mode, self.calls, self.saturates_at, self.fails = mode, calls, saturates_at, fails
        self.saturated = False
        self.capacity = 40.0
        self.planned: list[float] = []

    def launch(self) -> None:
        self.calls.append(f"{self.mode} launch")

    def wait_ready(self) -> None:
        self.calls.append(f"{self.mode} ready")

    def begin(self) -> None:
        self.calls.append(f"{self.mode} begin")

    def warm_up(self) -> None:
        self.calls.append(f"{self.mode} warm")
        if self.fails:
            raise MosaicError("the load generator failed")

    def closed(self, flow: str) -> None:
        self.calls.append(f"{self.mode} {flow}")

    def step(self, index: int, rate: float, of: int) -> None:
        self.calls.append(f"{self.mode} step {index}/{of} {rate:g}")
        self.saturated = index >= self.saturates_at

    def end(self, planned: list[float]) -> None:
        self.planned = planned

    def close(self) -> None:
        self.calls.append(f"{self.mode} close")


def test_compare_interleaves_the_phases_and_gives_the_floor_one_step_more() -> None:
    from mosaic.bench.run import _run_group

    calls: list[str] = []
    micro = FakeBench(MICROSERVICES, calls, saturates_at=2)
    floor = FakeBench(IN_PROCESS, calls, saturates_at=99)
    budget = Budget(flows=("browse",), max_steps=2, step_factor=2.0)
    rates = _run_group([micro, floor], budget, None)  # type: ignore[list-item]
    assert rates == [10.0, 20.0]  # a quarter of the first mode's capacity, then doubled
    assert calls == [
        "microservices launch",
        "in_process launch",
        "microservices ready",
        "in_process ready",
        "microservices begin",
        "in_process begin",
        "microservices warm",
        "in_process warm",
        "microservices browse",
        "in_process browse",
        "microservices step 1/2 10",
        "in_process step 1/3 10",
        "microservices step 2/2 20",
        "in_process step 2/3 20",
        "in_process step 3/3 40",
        "microservices close",
        "in_process close",
    ]
    assert micro.planned == [10.0, 20.0]
    assert floor.planned == [10.0, 20.0, 40.0]


def test_a_saturated_mode_stops_stepping_and_every_shop_is_closed_on_errors() -> None:
    from mosaic.bench.run import _run_group

    calls: list[str] = []
    micro = FakeBench(MICROSERVICES, calls, saturates_at=1)
    _run_group([micro], Budget(flows=(), max_steps=3), [5.0, 7.5, 11.2])  # type: ignore[list-item]
    assert [c for c in calls if "step" in c] == ["microservices step 1/3 5"]

    failing = FakeBench(IN_PROCESS, calls, saturates_at=1, fails=True)
    calls.clear()
    with pytest.raises(MosaicError):
        _run_group([failing], Budget(flows=()), None)  # type: ignore[list-item]
    assert calls[-1] == "in_process close"


# The load generator as a subprocess (a stand-in script speaking its interface)


class ScriptRun(LoadRun):
    """A LoadRun whose process is a small Python script instead of loadgen."""

    script: str = ""

    def argv(self, host: str, out: Path, mailbox: str | None = None) -> list[str]:
        return [sys.executable, "-c", self.script, str(out)]


def script_run(script: str) -> ScriptRun:
    run = ScriptRun("closed/browse", "browse", 2, 1.0)
    object.__setattr__(run, "script", script)
    return run


RESULT = (
    "import json, sys\n"
    "print(json.dumps({'t': 1, 'rps': 12.5, 'in_flight': 2, 'phase': 'measure'}), flush=True)\n"
    "print('a line that is not JSON', flush=True)\n"
    "result = {'total': {'requests': 3}, 'window': {'start': 1, 'end': 2}}\n"
    "json.dump(result, open(sys.argv[1], 'w'))\n"
)


def test_a_load_run_streams_its_progress_and_returns_its_result(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    result = LoadgenProcess(script_run(RESULT), "http://x", tmp_path / "r.json").execute(
        seen.append, timeout=60
    )
    assert result["total"] == {"requests": 3}
    assert seen == [{"t": 1, "rps": 12.5, "in_flight": 2, "phase": "measure"}]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("import sys; print('no route to host'); sys.exit(1)", "could not reach the shop"),
        ("import sys; sys.exit(2)", "failed (closed/browse, exit code 2)"),
        ("print('done, but wrote nothing')", "wrote no readable result"),
        ("import json, sys; json.dump({'flows': {}}, open(sys.argv[1], 'w'))", "no totals"),
    ],
)
def test_a_failing_load_run_says_what_went_wrong(tmp_path: Path, script: str, message: str) -> None:
    process = LoadgenProcess(script_run(script), "http://x", tmp_path / "r.json")
    with pytest.raises(MosaicError, match=re.escape(message)):
        process.execute(lambda _: None, timeout=60)


def test_a_hanging_load_run_is_stopped_after_its_timeout(tmp_path: Path) -> None:
    process = LoadgenProcess(script_run("import time; time.sleep(60)"), "http://x", tmp_path / "r")
    began = time.monotonic()
    with pytest.raises(MosaicError, match="ran over 1 s"):
        process.execute(lambda _: None, timeout=1)
    assert time.monotonic() - began < 30
    assert process._process is not None and process._process.poll() is not None  # stopped


def test_loadgen_gets_the_agreed_arguments(tmp_path: Path) -> None:
    closed = LoadRun("closed/cart", "cart", 4, 10.0, 1.0, None, 7).argv("http://h:1", tmp_path)
    assert closed[1:] == [
        "-m", "loadgen", "run", "--host", "http://h:1", "--flow", "cart", "--users", "4",
        "--duration", "10", "--warmup", "1", "--seed", "7", "--out", str(tmp_path),
    ]  # fmt: skip
    opened = LoadRun("step/1", "mix", 64, 8.0, 1.0, 12.5).argv("http://h:1", tmp_path)
    assert opened[opened.index("--rate") + 1] == "12.5"
    # The dev mailbox, when the shop has one: signed-in users confirm their accounts there.
    mailed = LoadRun("mix", "mix", 4, 8.0).argv("http://h:1", tmp_path, "http://h:2")
    assert mailed[mailed.index("--mailbox") + 1] == "http://h:2"


def test_progress_into_a_file_prints_a_line_per_phase_with_the_time_left() -> None:
    from mosaic.bench.progress import PhaseProgress

    out = io.StringIO()  # not a terminal: a live bar would print nothing until the end
    with PhaseProgress(120, Console(file=out, width=120)) as progress:
        progress.phase("micro: starting the shop", 20)
        progress.phase("micro: browse at 40/s", 100)
    lines = [line for line in out.getvalue().splitlines() if "elapsed" in line]
    assert lines == [
        "[0:00 elapsed, ~2:00 left] micro: starting the shop",
        "[0:00 elapsed, ~1:40 left] micro: browse at 40/s",
    ]
