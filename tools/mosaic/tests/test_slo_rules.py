"""The rules of deploy/observability/rules/ and the Grafana dashboard, checked by Debian's
promtool: the rule files load (`promtool check rules`), their unit tests pass (`promtool
test rules`: input series, the alerts that fire and do not at given times, recorded values),
every dashboard expression is evaluated by Prometheus's engine over an empty store, and
every metric named anywhere here is one of the contract's (an empty result is no error, so a
misspelt name would pass unseen otherwise)."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from chassis.testing import METRIC_CONTRACT
from mosaic import monitoring

ROOT = Path(__file__).resolve().parents[3]
OBSERVABILITY = ROOT / "deploy/observability"
RULE_FILES = sorted((OBSERVABILITY / "rules").glob("*.yaml"))
UNIT_TESTS = sorted((OBSERVABILITY / "tests").glob("*.test.yaml"))
DASHBOARD = OBSERVABILITY / "grafana/mosaic.json"
CONTRACT = set(METRIC_CONTRACT)
HISTOGRAM_SERIES = re.compile(r"_(bucket|count|sum)$")
# What Grafana puts in place of its variables before it asks Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$service": ".*"}


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip(
            "promtool is not installed: `apt-get install -y prometheus` (Debian's package;"
            " `mosaic test` installs it when run as root)"
        )
    return found


def _promtool(promtool: str, *args: str | Path) -> None:
    result = subprocess.run(
        [promtool, *map(str, args)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_files_load(promtool: str) -> None:
    assert {p.name for p in RULE_FILES} == {"slos.yaml", "symptoms.yaml"}
    _promtool(promtool, "check", "rules", *RULE_FILES)


def test_the_rules_unit_tests_pass(promtool: str) -> None:
    assert UNIT_TESTS, "no unit tests of the rules"
    _promtool(promtool, "test", "rules", *UNIT_TESTS)


def _expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, f"{panel['title']}: a variable the test does not know"
            found.append(expr)
    return found


def test_every_dashboard_expression_evaluates(promtool: str, tmp_path: Path) -> None:
    """Each through Prometheus's parser and engine (promtool's rule tests run them over an
    in-memory store: no server, no port): a syntax or type error fails, no data is fine."""
    expressions = _expressions()
    assert len(expressions) >= 10
    unit = {
        "rule_files": [str(p) for p in RULE_FILES],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [],
                "promql_expr_test": [
                    {"expr": e, "eval_time": "10m", "exp_samples": []} for e in expressions
                ],
            }
        ],
    }
    (tmp_path / "dashboard.test.yaml").write_text(yaml.safe_dump(unit))
    _promtool(promtool, "test", "rules", tmp_path / "dashboard.test.yaml")


def test_every_metric_named_is_one_of_the_contract() -> None:
    texts = [p.read_text() for p in [*RULE_FILES, *UNIT_TESTS, DASHBOARD]]
    named = {
        HISTOGRAM_SERIES.sub("", name)
        for text in texts
        for name in re.findall(r"\bmosaic_[a-z_]+", text)
    }
    assert named, "no metric found: the pattern is wrong"
    assert named <= CONTRACT, f"not in the metric contract: {sorted(named - CONTRACT)}"


def _rule_groups(path: Path) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(path.read_text())["groups"]
    return groups


def test_the_cluster_components_hold_the_rule_files_groups() -> None:
    """One source: the PrometheusRule and GKE's Rules are the rule files' groups, unchanged."""
    groups = [g for p in RULE_FILES for g in _rule_groups(p)]
    key = lambda group: group["name"]  # noqa: E731
    for folder in (monitoring.OPERATOR_DIR, monitoring.GKE_DIR):
        rules = yaml.safe_load((ROOT / folder / "rules.yaml").read_text())
        assert sorted(rules["spec"]["groups"], key=key) == sorted(groups, key=key), folder
