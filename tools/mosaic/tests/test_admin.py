"""`mosaic admin rotate-certs` and `mosaic admin call`, as commands, against a real home and
a real `mosaic up` of the stand-in services (demo_services/)."""

import json
import os
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from mosaic.pki import Pki, ensure_pki, load_signing_key
from mosaic.pki.files import load_public_keys
from mosaic.plan import callee_scheme
from mosaic.ports import free_port
from mosaic_testing import UpProcess, mosaic

DEMO = Path(__file__).parent / "demo_services"
IDENTITIES = ["back", "front", "admin"]


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "MOSAIC_HOME": str(home), "MOSAIC_SERVICES_DIR": str(DEMO)}


def serial(path: Path) -> str:
    return format(x509.load_pem_x509_certificate(path.read_bytes()).serial_number, "x")


def test_rotate_certs_on_a_stopped_home(tmp_path: Path) -> None:
    ensure_pki(tmp_path, IDENTITIES)
    pki = Pki.of(tmp_path)
    ca, old = pki.ca_cert.read_bytes(), {n: serial(pki.service(n).cert) for n in IDENTITIES}
    signing = pki.service("back").signing_key.read_bytes()

    result = mosaic("admin", "rotate-certs", env=env_for(tmp_path))

    assert result.returncode == 0, result.stderr
    assert pki.ca_cert.read_bytes() == ca
    assert pki.service("back").signing_key.read_bytes() == signing
    for name in IDENTITIES:
        new = serial(pki.service(name).cert)
        assert new != old[name]
        assert f"re-issued the certificate of {name}: serial {new}, valid until" in result.stdout
    assert "the next `mosaic up` uses them" in result.stdout

    result = mosaic("admin", "rotate-certs", "--signing-keys", env=env_for(tmp_path))

    assert result.returncode == 0, result.stderr
    back = pki.service("back")
    assert back.signing_key.read_bytes() != signing
    assert load_public_keys(back.public_key)[0] == load_signing_key(back.signing_key).public_key()
    assert "re-issued the signing key of back" in result.stdout


def test_rotate_certs_before_any_up_says_what_to_do(tmp_path: Path) -> None:
    result = mosaic("admin", "rotate-certs", env=env_for(tmp_path))
    assert result.returncode == 1
    assert "no CA" in result.stderr
    assert "Run `mosaic up` once" in result.stderr
    assert "Traceback" not in result.stderr


def test_call_needs_a_running_up(tmp_path: Path) -> None:
    result = mosaic("admin", "call", "back", "/", env=env_for(tmp_path))
    assert result.returncode == 1
    assert "not running" in result.stderr
    assert "mosaic up" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "/"], "no service named 'nope'"),
        (["back", "v1"], "PATH must start with /"),
        (["back", "/", "--data", "{nope"], "--data is not valid JSON"),
    ],
)
def test_call_explains_a_bad_command_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = mosaic("admin", "call", *args, env=env_for(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_every_admin_command_explains_itself() -> None:
    for command in (["admin"], ["admin", "rotate-certs"], ["admin", "policy"], ["admin", "call"]):
        result = mosaic(*command, "--help", env=os.environ)
        assert result.returncode == 0
        assert "Usage:" in result.stdout


def test_call_a_service_as_another_with_its_certificate_and_token(tmp_path: Path) -> None:
    with UpProcess(tmp_path, free_port(), extra_env={"MOSAIC_SERVICES_DIR": str(DEMO)}) as up:
        up.wait_ready()
        env = env_for(tmp_path)
        called = mosaic("admin", "call", "back", "/", "--as", "front", "-v", env=env)
        unknown_policy = mosaic("admin", "call", "back", "/", env=env)
        stranger = mosaic("admin", "call", "back", "/", "--as", "nobody", env=env)
        edge = mosaic("admin", "call", "front", "/", env=env)
        rotated = mosaic("admin", "rotate-certs", env=env)
        again = mosaic("admin", "call", "back", "/", "--as", "front", env=env)

    assert called.returncode == 0, called.stderr
    scheme = callee_scheme("mtls")
    assert f"GET {scheme}://127.0.0.1:" in called.stderr
    assert "200 OK" in called.stderr
    assert "content-length" in called.stderr.lower()  # -v shows the headers
    if scheme == "https":
        assert "the server proved to be back" in called.stderr
    token = json.loads(called.stdout)["service_token"]
    front_key = load_signing_key(Pki.of(tmp_path).service("front").signing_key).public_key()
    claims = jwt.decode(token, front_key, algorithms=["EdDSA"], audience="back")
    assert claims["iss"] == "front"
    assert 0 < claims["exp"] - claims["iat"] <= 60
    assert claims["jti"]

    assert unknown_policy.returncode == 2
    assert "--as" in unknown_policy.stderr
    assert stranger.returncode == 2
    assert "no such identity" in stranger.stderr
    assert edge.returncode == 0, edge.stderr
    assert "calling it as a browser does" in edge.stderr
    assert rotated.returncode == 0, rotated.stderr
    assert "Running services load the new files" in rotated.stdout
    assert again.returncode == 0, again.stderr
