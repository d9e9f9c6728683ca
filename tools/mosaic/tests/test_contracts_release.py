"""`mosaic contracts release` and `check` on a workspace of their own, and today's contracts
against the committed baseline: what a release writes, what it refuses, and that the check
reads the newest released version (no git tag needed)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mosaic import checks
from mosaic.compat import cli as contracts_cli
from mosaic.compat.check import check
from mosaic.compat.released import Version, newest, release, versions
from mosaic.errors import MosaicError
from mosaic.home import workspace_root
from typer.testing import CliRunner

API: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/v1/things": {
            "get": {
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"name": {"type": "string"}},
                                    "required": ["name"],
                                }
                            }
                        }
                    }
                }
            }
        }
    },
}
EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {"data": {"type": "object", "properties": {"name": {"type": "string"}}}},
}


def write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace of one service with an API and one event, as a git repository."""
    (tmp_path / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["services/*"]\n')
    write(tmp_path / "services/things/openapi.json", API)
    write(tmp_path / "services/things/events/ThingMade.v1.json", EVENT)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "things"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def head(root: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    return done.stdout.strip()


def test_a_release_copies_every_contract_with_a_manifest(workspace: Path) -> None:
    moment = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    target = release(workspace, Version.parse("v0.1.0"), now=moment)
    assert target == workspace / "contracts/released/v0.1.0"
    for relative in ("things/openapi.json", "things/events/ThingMade.v1.json"):
        copied = (target / relative).read_bytes()
        assert copied == (workspace / "services" / relative).read_bytes()
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest == {
        "version": "v0.1.0",
        "released_at": "2026-12-07T06:00:00+00:00",
        "commit": head(workspace),
        "contracts": ["things/events/ThingMade.v1.json", "things/openapi.json"],
    }
    assert [p.name for p in target.parent.iterdir()] == ["v0.1.0"]  # no partial folder left


def test_the_manifest_says_when_the_contracts_differ_from_the_commit(workspace: Path) -> None:
    write(workspace / "services/things/events/ThingMade.v2.json", EVENT)
    target = release(workspace, Version.parse("v0.1.0"))
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["commit"] == f"{head(workspace)}+changes"


def test_a_released_version_is_never_rewritten(workspace: Path) -> None:
    release(workspace, Version.parse("v0.1.0"))
    before = (workspace / "contracts/released/v0.1.0/manifest.json").read_bytes()
    with pytest.raises(MosaicError, match=r"v0\.1\.0 is released already"):
        release(workspace, Version.parse("v0.1.0"))
    assert (workspace / "contracts/released/v0.1.0/manifest.json").read_bytes() == before


@pytest.mark.parametrize("older", ["v0.0.9", "v0.0.10"])
def test_a_version_not_newer_than_the_last_is_refused(workspace: Path, older: str) -> None:
    release(workspace, Version.parse("v0.1.0"))
    with pytest.raises(MosaicError, match=r"not newer than the last release, v0\.1\.0"):
        release(workspace, Version.parse(older))


@pytest.mark.parametrize("name", ["0.1.0", "v1", "v1.2", "v1.2.3-rc1", "latest", "v01.2.x"])
def test_a_name_that_is_not_a_version_is_refused(name: str) -> None:
    with pytest.raises(MosaicError, match="not a release version") as refused:
        Version.parse(name)
    assert "vMAJOR.MINOR.PATCH" in refused.value.hint


def test_versions_are_ordered_as_numbers_and_the_newest_is_the_baseline(workspace: Path) -> None:
    release(workspace, Version.parse("v0.9.0"))
    write(workspace / "services/things/events/ThingMade.v2.json", EVENT)
    release(workspace, Version.parse("v0.10.0"))
    (workspace / "contracts/released/notes").mkdir()  # not a version: not a release
    assert [str(v) for v in versions(workspace)] == ["v0.9.0", "v0.10.0"]
    found = newest(workspace)
    assert found is not None
    assert str(found[0]) == "v0.10.0"
    assert "things/events/ThingMade.v2.json" in found[1]


def test_a_release_that_breaks_the_last_one_is_refused(workspace: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(contracts_cli.app, ["release", "v0.1.0"]).exit_code == 0
    write(workspace / "services/things/openapi.json", {**API, "paths": {}})
    with pytest.raises(MosaicError, match="1 change") as refused:
        runner.invoke(contracts_cli.app, ["release", "v0.2.0"], catch_exceptions=False)
    assert "/v1/things: removed path" in refused.value.output
    assert "--accept-breaks REASON" in refused.value.hint
    assert versions(workspace) == [Version.parse("v0.1.0")]


def test_a_deliberate_retirement_is_released_with_its_reason_and_then_checks_clean(
    workspace: Path,
) -> None:
    runner = CliRunner()
    assert runner.invoke(contracts_cli.app, ["release", "v0.1.0"]).exit_code == 0
    write(workspace / "services/things/openapi.json", {**API, "paths": {}})
    why = "no caller reads /v1/things since v0.1.0"
    done = runner.invoke(contracts_cli.app, ["release", "v0.2.0", "--accept-breaks", why])
    assert done.exit_code == 0, done.output
    manifest = json.loads((workspace / "contracts/released/v0.2.0/manifest.json").read_text())
    [accepted] = manifest["accepted_breaks"]["breaks"]
    assert accepted.startswith("services/things/openapi.json: /v1/things: removed path")
    assert manifest["accepted_breaks"]["reason"] == why
    assert check(workspace) == (Version.parse("v0.2.0"), [])


def test_the_check_names_what_broke_and_how_to_do_it_safely(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release(workspace, Version.parse("v0.1.0"))
    changed = json.loads(json.dumps(API))
    responses = changed["paths"]["/v1/things"]["get"]["responses"]
    responses["200"]["content"]["application/json"]["schema"]["properties"] = {}
    write(workspace / "services/things/openapi.json", changed)
    code = checks._run(checks._contracts, workspace)
    err = capsys.readouterr().err
    assert code == 1
    assert "1 change(s) would break callers of the released v0.1.0" in err
    assert (
        "services/things/openapi.json: GET /v1/things: response 200 application/json body.name: "
        "removed field" in err
    )
    assert "/v2/... beside /v1/..." in err
    assert "Changing an API or an event safely" in err


def test_a_new_path_and_a_new_event_version_pass_and_removing_the_old_fails(
    workspace: Path,
) -> None:
    release(workspace, Version.parse("v0.1.0"))
    both = json.loads(json.dumps(API))
    both["paths"]["/v2/things"] = both["paths"]["/v1/things"]
    write(workspace / "services/things/openapi.json", both)
    write(workspace / "services/things/events/ThingMade.v2.json", EVENT)
    assert check(workspace)[1] == []

    del both["paths"]["/v1/things"]
    write(workspace / "services/things/openapi.json", both)
    (workspace / "services/things/events/ThingMade.v1.json").unlink()
    found = sorted(str(one) for one in check(workspace)[1])
    assert found[0].startswith("services/things/events/ThingMade.v1.json: removed event schema")
    assert found[1].startswith("services/things/openapi.json: /v1/things: removed path")


def test_a_contract_with_a_ref_to_nowhere_is_named_not_a_traceback(workspace: Path) -> None:
    release(workspace, Version.parse("v0.1.0"))
    broken = json.loads(json.dumps(API))
    answer = broken["paths"]["/v1/things"]["get"]["responses"]["200"]
    answer["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/Gone"}
    write(workspace / "services/things/openapi.json", broken)
    with pytest.raises(MosaicError, match="points at nothing") as failed:
        check(workspace)
    assert failed.value.message.startswith("services/things/openapi.json cannot be compared")


def test_a_removed_contract_fails(workspace: Path) -> None:
    release(workspace, Version.parse("v0.1.0"))
    (workspace / "services/things/openapi.json").unlink()
    [found] = check(workspace)[1]
    assert str(found).startswith("services/things/openapi.json: removed contract")


def test_without_a_release_the_check_says_how_to_make_one(workspace: Path) -> None:
    with pytest.raises(MosaicError, match="no released contracts") as missing:
        check(workspace)
    assert "mosaic contracts release v0.1.0" in missing.value.hint


def test_todays_contracts_pass_against_the_committed_v0_1_0() -> None:
    root = workspace_root()
    assert Version.parse("v0.1.0") in versions(root)
    version, breaks = check(root)
    assert breaks == [], [str(b) for b in breaks]
    assert version >= Version.parse("v0.1.0")
    manifest = json.loads((root / "contracts/released/v0.1.0/manifest.json").read_text())
    released = {str(p.relative_to(root / "services")) for p in root.glob("services/*/openapi.json")}
    assert released <= set(manifest["contracts"])
    assert {
        "orders/events/OrderConfirmed.v1.json",
        "accounts/events/AccountRegistered.v1.json",
    } <= set(manifest["contracts"])


def test_the_commands_explain_themselves() -> None:
    runner = CliRunner()
    for args in (["--help"], ["check", "--help"], ["release", "--help"]):
        done = runner.invoke(contracts_cli.app, args, env={"COLUMNS": "200"})
        assert done.exit_code == 0
        assert "released" in done.output
