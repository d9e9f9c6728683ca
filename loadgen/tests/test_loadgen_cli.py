"""The command line: the plan it reads, its bounds, and its errors (exit 2)."""

from pathlib import Path

import pytest
from loadgen.cli import MAX_RATE, MAX_USERS, plan_of

BASE = ["run", "--host", "http://127.0.0.1:8080/", "--flow", "mix", "--users", "3",
        "--duration", "5"]  # fmt: skip


def test_a_closed_loop_plan(tmp_path: Path) -> None:
    plan = plan_of([*BASE, "--out", str(tmp_path / "r.json")])
    assert plan.host == "http://127.0.0.1:8080"
    assert (plan.flow, plan.users, plan.duration) == ("mix", 3, 5.0)
    assert (plan.rate, plan.warmup, plan.seed, plan.mode) == (None, 0.0, 1, "closed")
    assert plan.out == tmp_path / "r.json"


def test_an_open_loop_plan(tmp_path: Path) -> None:
    out = str(tmp_path / "r.json")
    plan = plan_of([*BASE, "--rate", "250.5", "--warmup", "2", "--seed", "7", "--out", out])
    assert (plan.rate, plan.warmup, plan.seed, plan.mode) == (250.5, 2.0, 7, "open")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (["--users", str(MAX_USERS + 1)], "users: from 1 to 1000"),
        (["--users", "0"], "users: from 1 to 1000"),
        (["--users", "2.5"], "not a number of users"),
        (["--rate", str(MAX_RATE * 2)], "arrivals a second: above 0 to 5000"),
        (["--rate", "0"], "arrivals a second: above 0 to 5000"),
        (["--rate", "nan"], "arrivals a second"),
        (["--duration", "3601"], "seconds: above 0 to 3600"),
        (["--warmup", "-1"], "seconds: from 0 to 600"),
        (["--flow", "dance"], "invalid choice"),
        (["--host", "127.0.0.1:8080"], "not a shop's base URL"),
        (["--host", "ftp://shop"], "not a shop's base URL"),
        (["--host", "http://shop:99999"], "port that is not one"),
    ],
)
def test_bad_arguments_exit_2_saying_what_is_wrong(
    change: list[str], complaint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        plan_of([*BASE, *change, "--out", str(tmp_path / "r.json")])
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_the_result_goes_into_an_existing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        plan_of([*BASE, "--out", str(tmp_path / "missing" / "r.json")])
    assert exited.value.code == 2
    assert "create it first" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        plan_of([*BASE, "--out", str(tmp_path)])
    assert "is a folder" in capsys.readouterr().err


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["run", "--help"]):
        with pytest.raises(SystemExit) as exited:
            plan_of(argv)
        assert exited.value.code == 0
        assert "usage: python -m loadgen" in capsys.readouterr().out
