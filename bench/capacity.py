"""The capacity model: from one `mosaic bench` run's CPU per action, the vCPUs and replicas
each service needs for 1,000 product pages/s and 100 checkouts/s on Kubernetes.

Run: .venv/bin/python bench/capacity.py [RESULTS_JSON] [--write deploy/capacity.json]

Reads results.json (default: the newest under bench-results/) of the microservices mode:
per flow, the shop's CPU per action (services, Postgres, Valkey) and each service's share
of it, from the closed-loop runs (`closed.<flow>.cpu.per_service` / actions; the product
page from the pages phase when the run has one, else the `browse` flow). Then, per service,
the cores the design load keeps busy (pages/s x its CPU per page + checkouts/s x its CPU
per checkout), and the replicas that serve it with each web pod requesting POD_CPU (or
SMALL_POD_CPU) and the autoscaler's target at HPA_TARGET % of that request: the headroom
a pod keeps for bursts and for the seconds the autoscaler takes to add one.

`--write` saves the model (and the run it came from) where `mosaic deploy render` reads
the CPU requests and autoscaler targets (`mosaic.kubernetes_pods`); memory stays
bench/pod_sizing.py's. Postgres and Valkey are printed but sized apart (Cloud SQL,
Memorystore). Method: docs/performance.md ("The capacity model").
"""

import argparse
import json
import math
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DESIGN = {"browse": 1000.0, "checkout": 100.0}  # actions/s: product pages, checkouts
HPA_TARGET = 70  # % of a pod's CPU request the autoscaler holds it at
# Millicores a web pod requests: half of the one core a Python process can use, for a
# service the design load needs more than MIN_REPLICAS small pods for; else SMALL_POD_CPU,
# GKE Autopilot's smallest step (it raises 100m to 250m anyway).
POD_CPU, SMALL_POD_CPU = 500, 250
MIN_REPLICAS = 2  # the autoscaler's floor (mosaic.kubernetes): one serves during a disruption
BACKING = ("postgres", "valkey")


def per_action(run: dict[str, Any]) -> dict[str, float]:
    """Milliseconds of CPU per action of each service (and server) in one measured run."""
    requests = run.get("requests") or 0
    spent = (run.get("cpu") or {}).get("per_service") or {}
    return {name: 1000 * seconds / requests for name, seconds in spent.items() if requests}


def model(results: dict[str, Any], source: str) -> dict[str, Any]:
    micro = results["modes"]["microservices"]
    runs = {flow: micro["closed"][flow] for flow in DESIGN}
    if micro.get("page", {}).get("cpu"):
        runs["browse"] = micro["page"]  # wrk's product page: one page a request
    costs = {flow: per_action(run) for flow, run in runs.items()}
    names = sorted(set().union(*costs.values()))
    services: dict[str, Any] = {}
    backing: dict[str, Any] = {}
    for name in names:
        ms = {flow: costs[flow].get(name, 0.0) for flow in DESIGN}
        cores = sum(DESIGN[flow] * ms[flow] / 1000 for flow in DESIGN)
        row: dict[str, Any] = {"cpu_ms_per_action": _rounded(ms), "cores": round(cores, 2)}
        if name in BACKING:
            backing[name] = row
            continue
        small = cores * 1000 <= MIN_REPLICAS * SMALL_POD_CPU * HPA_TARGET / 100
        pod = SMALL_POD_CPU if small else POD_CPU
        replicas = max(MIN_REPLICAS, math.ceil(cores * 1000 / (pod * HPA_TARGET / 100)))
        services[name] = row | {"cpu_request": f"{pod}m", "max_replicas": replicas}
    flows = {
        flow: {
            "cpu_ms_per_action": round(sum(costs[flow].values()), 2),
            "services_ms": round(sum(v for k, v in costs[flow].items() if k not in BACKING), 2),
        }
        for flow in DESIGN
    }
    return {
        "source": {
            "results": source,
            "started_at": results.get("started_at"),
            "git_commit": (results.get("machine") or {}).get("git_commit"),
            "cpu_count": (results.get("machine") or {}).get("cpu_count"),
        },
        "design_load_per_second": DESIGN,
        "hpa_target_percent": HPA_TARGET,
        "flows": flows,
        "services": services,
        "backing": backing,
        "vcpus": {
            "services": round(sum(s["cores"] for s in services.values()) * 100 / HPA_TARGET, 1),
            "requested": sum(
                s["max_replicas"] * int(s["cpu_request"][:-1]) / 1000 for s in services.values()
            ),
            "backing": round(sum(b["cores"] for b in backing.values()), 1),
        },
    }


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in values.items()}


def table(found: dict[str, Any]) -> str:
    """The model as a Markdown table, as docs/performance.md shows it."""
    lines = [
        "| service | ms CPU per product page | ms CPU per checkout | cores at design load "
        "| replicas (request, target) |",
        "|---|---:|---:|---:|---:|",
    ]
    every = {**found["services"], **found["backing"]}
    for name, row in sorted(every.items(), key=lambda item: -item[1]["cores"]):
        ms = row["cpu_ms_per_action"]
        sized = (
            f"{row['max_replicas']} ({row['cpu_request']}, {found['hpa_target_percent']} %)"
            if "max_replicas" in row
            else "sized apart"
        )
        lines.append(
            f"| {name} | {ms['browse']:.2f} | {ms['checkout']:.2f} | {row['cores']:.2f} | {sized} |"
        )
    flows, vcpus = found["flows"], found["vcpus"]
    lines.append(
        f"| **shop** | {flows['browse']['cpu_ms_per_action']:.2f} "
        f"| {flows['checkout']['cpu_ms_per_action']:.2f} | "
        f"{sum(r['cores'] for r in every.values()):.1f} | {vcpus['requested']:g} vCPUs requested |"
    )
    return "\n".join(lines)


def check(found: dict[str, Any], other: dict[str, Any]) -> str:
    """The model's CPU per action against another run's (e.g. `mosaic up --scale`'d):
    replicas should spread the work, not add to it."""
    measured = model(other, "check")
    lines = [
        "| flow, service | model ms | measured ms | measured ÷ model |",
        "|---|---:|---:|---:|",
    ]
    every = {**found["services"], **found["backing"]}
    again = {**measured["services"], **measured["backing"]}
    for flow in DESIGN:
        rows = [(flow, found["flows"][flow], measured["flows"][flow], "cpu_ms_per_action")]
        rows += [
            (
                f"{flow}, {n}",
                every[n]["cpu_ms_per_action"],
                again.get(n, {}).get("cpu_ms_per_action", {}),
                flow,
            )
            for n in sorted(every)
        ]
        for name, model_row, measured_row, key in rows:
            predicted, seen = model_row.get(key), measured_row.get(key)
            if predicted and seen is not None and predicted >= 0.5:
                lines.append(f"| {name} | {predicted:.2f} | {seen:.2f} | {seen / predicted:.2f} |")
    return "\n".join(lines)


def newest_results() -> Path:
    found = sorted((ROOT / "bench-results").glob("*/results.json"))
    if not found:
        raise SystemExit("no bench-results/*/results.json: run `mosaic bench` first")
    return found[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, help="a results.json of mosaic bench")
    parser.add_argument("--write", type=Path, help="save the model here (deploy/capacity.json)")
    parser.add_argument("--source", help="how the data file names the run (default: its path)")
    parser.add_argument("--check", type=Path, help="another run's results.json to compare with")
    args = parser.parse_args()
    path = args.results or newest_results()
    found = model(json.loads(path.read_text()), args.source or str(path))
    print(table(found))
    vcpus = found["vcpus"]
    print(
        f"\nservices: {vcpus['services']} vCPUs busy at {HPA_TARGET} %, "
        f"{vcpus['requested']:g} requested; Postgres + Valkey: {vcpus['backing']} vCPUs"
    )
    if args.check:
        print("\n" + check(found, json.loads(args.check.read_text())))
    if args.write:
        args.write.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
        print(f"written: {args.write}")


if __name__ == "__main__":
    main()
