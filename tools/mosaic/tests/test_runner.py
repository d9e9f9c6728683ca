"""`mosaic up` / `status` / `down` against two stand-in services (demo_services/), as real
processes: env contract, readiness, restarts, clean stop, persistence, failure messages."""

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from mosaic.backing import BackingServers
from mosaic.pki import Pki, client_ssl_context, spiffe_id
from mosaic.plan import callee_scheme
from mosaic.ports import free_port
from mosaic_testing import UpProcess, mosaic, wait_until
from mosaic_testing.processes import gone

DEMO = Path(__file__).parent / "demo_services"


def get_json(url: str, home: Path | None = None) -> dict[str, Any]:
    """GET url; an https one as the front service, with its certificate from home."""
    verify: ssl.SSLContext | bool = True
    if url.startswith("https:"):
        assert home is not None
        front = Pki.of(home).service("front")
        verify = client_ssl_context(front.ca_cert, front.cert, front.key)
    response = httpx.get(url, timeout=5, verify=verify)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def up(home: Path, *args: str, **env: str) -> UpProcess:
    return UpProcess(home, free_port(), *args, extra_env={"MOSAIC_SERVICES_DIR": str(DEMO), **env})


def test_up_runs_restarts_stops_and_keeps_data(tmp_path: Path) -> None:
    runner = up(tmp_path, "--scale", "back=2")
    with runner:
        url = runner.wait_ready()
        front = get_json(url)
        assert front["env"]["MOSAIC_SERVICE"] == "front"
        assert set(front["env"]) >= {"PORT", "OPS_PORT", "HOST", "BACK_URL", "MOSAIC_REPLICA"}
        assert not any(k in front["env"] for k in ("DATABASE_URL", "REDIS_URL"))
        back = get_json(front["env"]["BACK_URL"], tmp_path)
        assert back["env"]["DATABASE_URL"].startswith("postgresql://back:")
        assert back["env"]["REDIS_URL"].startswith("redis://back:")
        assert not any(k.startswith("MOSAIC_") and k.endswith("_URL") for k in back["env"])
        assert back["releases"] == 1

        processes = runner.processes()
        assert {"postgres", "valkey", "back.web.1", "back.web.2", "front.web.1"} == set(processes)
        replicas = [processes["back.web.1"], processes["back.web.2"]]
        assert replicas[0]["port"] == replicas[1]["port"]
        assert replicas[0]["ops_port"] != replicas[1]["ops_port"]
        assert all(p["state"] == "ready" for p in processes.values())

        second = mosaic("up", "--port", str(free_port()), env=runner.env)
        assert second.returncode == 1
        assert "already running" in second.stderr

        killed = processes["back.web.1"]["pid"]
        os.kill(killed, signal.SIGKILL)
        wait_until(
            lambda: (
                runner.processes()["back.web.1"]["pid"] not in (killed, None)
                and runner.processes()["back.web.1"]["state"] == "ready"
            ),
            timeout=10,
            what="back.web.1 restarted and ready",
        )
        pids = [p["pid"] for p in runner.processes().values()]
        down = mosaic("down", env=runner.env, timeout=90)
        assert down.returncode == 0, down.stderr
        assert "stopped" in down.stdout
        assert runner.process is not None and runner.process.wait(5) == 0
        assert all(gone(pid) for pid in pids)
        not_running = mosaic("status", env=runner.env)
        assert not_running.returncode == 1
        assert "mosaic up" in not_running.stdout

    with up(tmp_path) as again:
        front = get_json(again.wait_ready())
        back = get_json(front["env"]["BACK_URL"], tmp_path)
        assert back["releases"] == 2
        assert back["hits"] == 2


def test_a_failed_release_stops_up_with_its_output(tmp_path: Path) -> None:
    with up(tmp_path, DEMO_FAIL_RELEASE="1") as runner:
        assert runner.process is not None
        assert runner.process.wait(60) == 1
    assert "release phase of back failed (exit code 3)" in runner.output
    assert "release failed on purpose" in runner.output
    assert "Traceback" not in runner.output


def test_a_process_with_bad_config_stops_up_with_its_output(tmp_path: Path) -> None:
    with up(tmp_path, DEMO_BAD_SETTING="front") as runner:
        assert runner.process is not None
        assert runner.process.wait(60) == 1
    assert "front.web.1 exited with code 78: a configuration error" in runner.output
    assert "front.web.1 has a configuration error; its last output:" in runner.output
    assert "bad or missing setting 'DEMO_BAD_SETTING'" in runner.output


def test_a_busy_port_is_explained(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "MOSAIC_HOME": str(tmp_path), "MOSAIC_SERVICES_DIR": str(DEMO)}
        result = mosaic("up", "--port", str(port), env=env)
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr
    assert "--port" in result.stderr


def test_children_do_not_outlive_a_killed_runner(tmp_path: Path) -> None:
    with up(tmp_path) as runner:
        runner.wait_ready()
        pids = [p["pid"] for p in runner.processes().values()]
        assert runner.process is not None
        runner.process.kill()
        wait_until(lambda: all(map(gone, pids)), timeout=15, what="every child stopped")
    with up(tmp_path) as again:  # and the next run starts cleanly on the same home
        again.wait_ready()


def test_status_without_up_says_so(tmp_path: Path) -> None:
    env = {**os.environ, "MOSAIC_HOME": str(tmp_path)}
    result = mosaic("status", "--json", env=env)
    assert result.returncode == 1
    assert json.loads(result.stdout)["running"] is False
    result = mosaic("down", env=env)
    assert result.returncode == 0
    assert "nothing to stop" in result.stdout


def test_every_command_explains_itself() -> None:
    for command in ([], ["up"], ["status"], ["down"], ["test"]):
        result = subprocess.run(
            [sys.executable, "-m", "mosaic", *command, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0
        assert "Usage:" in result.stdout


@pytest.mark.parametrize("scale", ["back", "back=0", "back=x", "nope=2", "back.worker=2"])
def test_bad_scale_is_a_usage_error(tmp_path: Path, scale: str) -> None:
    env = {**os.environ, "MOSAIC_HOME": str(tmp_path), "MOSAIC_SERVICES_DIR": str(DEMO)}
    result = mosaic("up", "--scale", scale, "--port", str(free_port()), env=env)
    assert result.returncode == 2
    assert "--scale" in result.stderr
    assert "Traceback" not in result.stderr


def test_up_attaches_external_servers_by_url(tmp_path: Path, backing: BackingServers) -> None:
    external = {
        "MOSAIC_DATABASE_URL": backing.admin_database_url,
        "MOSAIC_REDIS_URL": backing.admin_redis_url,
    }
    with up(tmp_path, **external) as runner:
        front = get_json(runner.wait_ready())
        back = get_json(front["env"]["BACK_URL"], tmp_path)
        assert {"postgres", "valkey"}.isdisjoint(runner.processes())
    database_url, redis_url = back["env"]["DATABASE_URL"], back["env"]["REDIS_URL"]
    assert urlsplit(database_url).port == urlsplit(backing.admin_database_url).port
    assert urlsplit(database_url).username == "back"
    assert urlsplit(redis_url).port == urlsplit(backing.admin_redis_url).port
    assert urlsplit(redis_url).username == "back"
    assert backing.admin_database_url not in runner.output


SECURITY_FILES = ("TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE", "SERVICE_SIGNING_KEY_FILE")


@pytest.mark.parametrize("transport", ["mtls", "mesh"])
def test_every_process_gets_its_identity_and_trust(tmp_path: Path, transport: str) -> None:
    with up(tmp_path, "--transport", transport) as runner:
        front = get_json(runner.wait_ready())["env"]
        back = get_json(front["BACK_URL"], tmp_path)["env"]
        assert runner.status()["transport"] == transport
    pki = Pki.of(tmp_path)
    assert "issued the ca of ca (missing" in runner.output
    assert "issued the certificate of back (missing" in runner.output

    for name, env in (("front", front), ("back", back)):
        files = pki.service(name)
        assert env["TRANSPORT_SECURITY"] == transport
        assert env["SERVICE_SIGNING_KEY_FILE"] == str(files.signing_key)
        assert env["SERVICE_TRUST_DIR"] == str(pki.trust_dir)
        assert {p.name for p in pki.trust_dir.iterdir()} == {"front.pub", "back.pub", "admin.pub"}
        if transport == "mtls":
            assert env["TLS_CERT_FILE"] == str(files.cert)
            assert env["TLS_KEY_FILE"] == str(files.key)
            assert env["TLS_CA_FILE"] == str(pki.ca_cert)
            certificate = x509.load_pem_x509_certificate(files.cert.read_bytes())
            sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            assert spiffe_id(name) in sans.value.get_values_for_type(x509.UniformResourceIdentifier)
        else:  # behind a mesh the sidecars hold the certificates; tokens stay on
            assert not any(k.startswith("TLS_") for k in env)
        for variable in SECURITY_FILES:
            if variable in env:
                assert Path(env[variable]).is_file()
    assert front["BACK_URL"].startswith(f"{callee_scheme(transport)}://127.0.0.1:")
    if transport == "mesh":
        assert front["BACK_URL"].startswith("http://")

    # The next start keeps every certificate and key it finds.
    before = {p: p.read_bytes() for p in pki.root.rglob("*") if p.is_file()}
    with up(tmp_path, "--transport", transport) as again:
        again.wait_ready()
    assert "issued the" not in again.output
    assert {p: p.read_bytes() for p in pki.root.rglob("*") if p.is_file()} == before


def test_a_service_cannot_inherit_another_identity(tmp_path: Path) -> None:
    stray = {"TLS_CERT_FILE": "/nope", "SERVICE_TRUST_DIR": "/nope", "TRANSPORT_SECURITY": "x"}
    with up(tmp_path, "--transport", "mesh", **stray) as runner:
        front = get_json(runner.wait_ready())["env"]
    assert "TLS_CERT_FILE" not in front
    assert front["SERVICE_TRUST_DIR"] == str(Pki.of(tmp_path).trust_dir)
    assert front["TRANSPORT_SECURITY"] == "mesh"
