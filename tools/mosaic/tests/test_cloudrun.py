"""deploy/cloudrun: rendered from the service data, committed as rendered, valid against our
own schema of the Cloud Run fields it uses, and holding what the runner runs (services,
process types, jobs, variable names, ports) and whom the allowlists let call (IAM invokers),
nothing more."""

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import jsonschema  # type: ignore[import-untyped]  # kubernetes-validate's, no stubs
import pytest
import yaml
from mosaic import cloudrun
from mosaic.cloudrun_jobs import IAM_DIR, JOBS_DIR, PROVISION
from mosaic.compose import container_name
from mosaic.containers import OPS_PORT, WEB, api_port
from mosaic.home import services_dir
from mosaic.services import Service

from tools.mosaic.tests.runner_names import runner_names

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = yaml.safe_load((Path(__file__).with_name("cloudrun_schema.yaml")).read_text())
# What the runner sets that a Cloud Run container does not, beyond runner_names.RUNNER_ONLY:
MTLS_ONLY = {"TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE"}  # Cloud Run's front end ends TLS
PLATFORM = {"PORT"}  # reserved: Cloud Run sets it to the container port
CLOUDRUN_ONLY = {"CLOUD_RUN_PROJECT"}  # whose service accounts callers are
# The documented fill (docs/deploy.md "On Cloud Run"), with example values.
FILL = {"PROJECT_ID": "shop-123456", "PROJECT_NUMBER": "123456789012", "REGION": "europe-west1",
        "TAG": "abc1234"}  # fmt: skip


@pytest.fixture(scope="module")
def rendered(services: list[Service]) -> dict[Path, str]:
    return cloudrun.render(services)


@pytest.fixture(scope="module")
def documents(rendered: dict[Path, str]) -> dict[Path, dict[str, Any]]:
    return {path: yaml.safe_load(text) for path, text in rendered.items() if path.suffix == ".yaml"}


def _filled(text: str) -> str:
    for placeholder, value in FILL.items():
        text = text.replace(placeholder, value)
    return text


@pytest.fixture(scope="module")
def filled(rendered: dict[Path, str]) -> dict[Path, dict[str, Any]]:
    """As gcloud receives them: the placeholders filled (docs/deploy.md)."""
    return {p: yaml.safe_load(_filled(t)) for p, t in rendered.items() if p.suffix == ".yaml"}


def _under(documents: dict[Path, dict[str, Any]], folder: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: d for p, d in documents.items() if p.parent == folder}


def _container(document: dict[str, Any]) -> dict[str, Any]:
    spec = document["spec"]["template"]["spec"]
    spec = spec["template"]["spec"] if document["kind"] == "Job" else spec
    (container,) = spec["containers"]
    return cast(dict[str, Any], container)


def test_the_committed_files_are_what_the_service_data_renders(
    rendered: dict[Path, str],
) -> None:
    for path, text in rendered.items():
        committed = ROOT / path
        assert committed.is_file(), f"{path} is missing: run `mosaic deploy render`"
        assert committed.read_text() == text, f"{path} is stale: run `mosaic deploy render`"
    found = {p.relative_to(ROOT) for p in (ROOT / cloudrun.CLOUDRUN_DIR).rglob("*") if p.is_file()}
    assert found == set(rendered), "a file in deploy/cloudrun that nothing renders"


def test_deploy_render_check_names_a_cloud_run_file_edited_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mosaic.cli import app
    from typer.testing import CliRunner

    monkeypatch.setenv("MOSAIC_SERVICES_DIR", str(services_dir()))
    (tmp_path / "pyproject.toml").write_text("[tool.uv.workspace]\nmembers = []\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["deploy", "render"]).exit_code == 0
    edited = tmp_path / IAM_DIR / "catalog.yaml"
    edited.write_text(edited.read_text() + "  - allUsers\n")
    checked = runner.invoke(app, ["deploy", "render", "--check"])
    assert checked.exit_code == 1
    assert "deploy/cloudrun/iam/catalog.yaml: STALE" in checked.output
    assert "deploy/cloudrun/services/orders.yaml: current" in checked.output


def test_every_file_is_valid_for_our_schema_of_cloud_run(
    filled: dict[Path, dict[str, Any]],
) -> None:
    kinds = {cloudrun.CLOUDRUN_DIR / "services": "service", JOBS_DIR: "job", IAM_DIR: "policy"}
    for path, document in filled.items():
        schema = {**SCHEMA, "$ref": f"#/$defs/{kinds[path.parent]}"}
        try:
            jsonschema.validate(document, schema)
        except jsonschema.ValidationError as error:
            pytest.fail(f"{path}: {error.message} at {'/'.join(map(str, error.path))}")


def test_the_schema_refuses_what_cloud_run_would(filled: dict[Path, dict[str, Any]]) -> None:
    """The schema is no formality: each of these edits is one Cloud Run refuses or we forbid."""
    service = filled[cloudrun.CLOUDRUN_DIR / "services" / "catalog.yaml"]
    schema = {**SCHEMA, "$ref": "#/$defs/service"}
    edits: list[Callable[[dict[str, Any]], object]] = [
        lambda d: _container(d)["env"].append({"name": "PORT", "value": "1"}),  # reserved
        lambda d: _container(d)["ports"].append({"name": "http1", "containerPort": 9090}),
        lambda d: d["metadata"]["annotations"].update({"run.googleapis.com/ingres": "all"}),
        lambda d: _container(d).update({"image": "localhost/mosaic/catalog:latest"}),
        lambda d: d["spec"]["template"]["spec"].update(
            {"serviceAccountName": "cart@shop-123456.iam.gserviceaccount.com"}  # id too short
        ),
    ]
    for edit in edits:
        broken = yaml.safe_load(yaml.safe_dump(service))
        edit(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)


def test_each_process_and_job_sets_each_variable_once_and_secrets_by_reference(
    documents: dict[Path, dict[str, Any]],
) -> None:
    for path, document in documents.items():
        if path.parent == IAM_DIR:
            continue
        container = _container(document)
        names = [e["name"] for e in container["env"]]
        assert len(names) == len(set(names)), path
        for entry in container["env"]:
            value = entry.get("value", "")
            assert not re.search(r"://[^/\s:@]+:[^@\s]+@", value), (path, entry)
            if re.search("PASSWORD|SECRET|KEY|TOKEN|_URL$", entry["name"]) and "value" in entry:
                is_file = entry["name"].endswith(("_FILE", "_DIR"))
                assert is_file or value.startswith("https://"), (path, entry)
        spec = document["spec"]["template"]["spec"]
        spec = spec["template"]["spec"] if document["kind"] == "Job" else spec
        volumes = {v["name"] for v in spec.get("volumes", [])}
        assert {m["name"] for m in container.get("volumeMounts", [])} == volumes, path


def test_the_identity_files_the_settings_name_are_where_the_volumes_put_them(
    documents: dict[Path, dict[str, Any]],
) -> None:
    for path, document in documents.items():
        if path.parent == IAM_DIR or document["metadata"]["name"] == PROVISION:
            continue
        container = _container(document)
        env = {e["name"]: e.get("value") for e in container["env"]}
        mounted = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        spec = document["spec"]["template"]["spec"]
        spec = spec["template"]["spec"] if document["kind"] == "Job" else spec
        (key,) = next(v for v in spec["volumes"] if v["name"] == "identity")["secret"]["items"]
        assert env["SERVICE_SIGNING_KEY_FILE"] == f"{mounted['identity']}/{key['path']}", path
        assert env["SERVICE_TRUST_DIR"] == mounted["trust"], path


def test_only_the_edge_takes_the_internet(
    services: list[Service], documents: dict[Path, dict[str, Any]]
) -> None:
    ingress = {
        name: d["metadata"]["annotations"]["run.googleapis.com/ingress"]
        for name, d in _under(documents, cloudrun.CLOUDRUN_DIR / "services").items()
    }
    edge = {s.name for s in services if s.edge}
    assert ingress == {
        container_name(s, k): "all" if s.name in edge and k == WEB else "internal"
        for s in services
        for k in s.processes
    }


def test_the_placeholders_are_whole_words_and_the_documented_fill_leaves_none(
    tmp_path: Path, rendered: dict[Path, str]
) -> None:
    for path, text in rendered.items():
        for placeholder in cloudrun.PLACEHOLDERS:
            words = len(re.findall(rf"(?<![A-Za-z]){placeholder}(?![A-Za-z]|_[A-Z])", text))
            assert text.count(placeholder) == words, (path, placeholder)
    sed = shutil.which("sed")
    if sed is None:
        pytest.skip("sed is not installed")
    target = tmp_path / "cloudrun"
    shutil.copytree(ROOT / cloudrun.CLOUDRUN_DIR, target)
    expressions = [arg for k, v in FILL.items() for arg in ("-e", f"s/{k}/{v}/g")]
    files = [str(p) for p in target.rglob("*") if p.is_file()]
    subprocess.run([sed, "-i", *expressions, *files], check=True, timeout=60)
    for file in files:
        text = Path(file).read_text()
        for placeholder in cloudrun.PLACEHOLDERS:
            assert placeholder not in text, (file, placeholder)
    filled = yaml.safe_load((target / "services" / "orders.yaml").read_text())
    env = {e["name"]: e.get("value") for e in _container(filled)["env"]}
    assert env["CART_URL"] == "https://cart-123456789012.europe-west1.run.app"
    assert (
        _container(filled)["image"]
        == "europe-west1-docker.pkg.dev/shop-123456/mosaic/orders:abc1234"
    )


def test_the_schedule_script_is_shell_and_creates_each_scheduled_job(
    services: list[Service], rendered: dict[Path, str]
) -> None:
    script = rendered[cloudrun.CLOUDRUN_DIR / "schedule.sh"]
    sh = shutil.which("sh")
    if sh is not None:
        subprocess.run([sh, "-n"], input=script, text=True, check=True, timeout=30)
    # Created once and updated after, so the script may run again.
    created = re.findall(r'gcloud scheduler jobs "\$verb" http (\S+) ', script)
    assert created == [f"{s.name}-{j.name}" for s in services for j in s.jobs]
    assert "--schedule='*/1 * * * *'" in script  # orders' 30 s: once a minute, the floor


def test_service_accounts_are_the_ones_the_chassis_binds_callers_to() -> None:
    from chassis.cloudrun import service_account

    for name in ("cart", "admin", "recommendations"):
        assert cloudrun.service_account(name) == service_account(name, cloudrun.PROJECT_ID)


# No drift: what the runner runs and whom the allowlists let call, Cloud Run runs and admits.


def test_cloud_run_runs_every_process_and_job_of_the_runner_and_nothing_else(
    services: list[Service], documents: dict[Path, dict[str, Any]]
) -> None:
    deployed = {
        (d["metadata"]["labels"]["mosaic-service"], d["metadata"]["labels"]["mosaic-process"])
        for d in _under(documents, cloudrun.CLOUDRUN_DIR / "services").values()
    }
    assert deployed == {(s.name, k) for s in services for k in s.processes}
    jobs = set(_under(documents, JOBS_DIR))
    expected = {PROVISION} | {f"{s.name}-release" for s in services if s.release}
    expected |= {f"{s.name}-{j.name}" for s in services for j in s.jobs}
    assert jobs == expected


def test_cloud_run_gives_each_process_the_runners_variable_names_and_ports(
    services: list[Service], documents: dict[Path, dict[str, Any]]
) -> None:
    deployed = _under(documents, cloudrun.CLOUDRUN_DIR / "services")
    jobs = _under(documents, JOBS_DIR)
    for service in services:
        kinds = [(k, deployed[container_name(service, k)]) for k in service.processes]
        if service.release:
            kinds.append(("release", jobs[f"{service.name}-release"]))
        kinds += [(j.name, jobs[f"{service.name}-{j.name}"]) for j in service.jobs]
        for kind, document in kinds:
            container = _container(document)
            names = {e["name"] for e in container["env"]}
            expected = runner_names(services, service, kind) - MTLS_ONLY - PLATFORM
            assert names == expected | CLOUDRUN_ONLY, (service.name, kind)
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["OPS_PORT"] == str(OPS_PORT)
            if document["kind"] == "Job":
                continue
            (port,) = container["ports"]
            assert port["containerPort"] == (api_port(service) if kind == WEB else OPS_PORT)
            for probe in ("startupProbe", "livenessProbe"):
                assert container[probe]["httpGet"] == {"path": "/healthz", "port": OPS_PORT}


def test_each_service_admits_exactly_the_callers_its_allowlists_name(
    services: list[Service], documents: dict[Path, dict[str, Any]]
) -> None:
    edges = cloudrun.invoker_edges(services)
    assert ("admin", "catalog") in edges  # the operator is an identity here too
    policies = _under(documents, IAM_DIR)
    for service in services:
        callers = {a for a, b in edges if b == service.name}
        if service.edge:
            expected = {"allUsers"}
        else:
            expected = {f"serviceAccount:{cloudrun.service_account(c)}" for c in callers}
        if not expected:
            assert service.name not in policies, service.name
            continue
        (binding,) = policies[service.name]["bindings"]
        assert binding["role"] == "roles/run.invoker"
        assert set(binding["members"]) == expected, service.name
    assert set(policies) <= {s.name for s in services}


def test_admin_token_signs_as_the_operator_for_the_service_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the operator sends beside a Google ID token on Cloud Run: a token the callee's
    trust store verifies, issued by `admin`, for that callee only."""
    from chassis.tokens import TokenRejected, TokenVerifier, TrustStore
    from mosaic.cli import app
    from mosaic.pki import ensure_pki
    from typer.testing import CliRunner

    ensure_pki(tmp_path, ["catalog", "admin"])
    monkeypatch.setenv("MOSAIC_HOME", str(tmp_path))
    monkeypatch.setenv("MOSAIC_SERVICES_DIR", str(services_dir()))
    printed = CliRunner().invoke(app, ["admin", "token", "catalog"])
    assert printed.exit_code == 0, printed.output
    token = printed.output.strip()
    trust = TrustStore(tmp_path / "pki" / "trust")
    assert TokenVerifier("catalog", trust).verify(token).issuer == "admin"
    with pytest.raises(TokenRejected):
        TokenVerifier("orders", trust).verify(token)
    unknown = CliRunner().invoke(app, ["admin", "token", "catalog", "--as", "mallory"])
    assert unknown.exit_code != 0
    assert "no such identity" in str(unknown.exception)  # `mosaic` prints it as one line
