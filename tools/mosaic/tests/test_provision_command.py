"""`mosaic admin provision`, as a command, against real embedded Postgres and Valkey: the
provisioning `mosaic up` runs, for servers reached by admin URLs (compose, Kubernetes)."""

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio as aioredis
import redis.exceptions
from mosaic.backing import BackingServers
from mosaic.backing.service_secrets import provisioned_variables
from mosaic.home import services_dir
from mosaic.ports import free_port
from mosaic.services import discover_services
from mosaic_testing import mosaic

WITH_BACKING = {"accounts", "cart", "catalog", "frontend", "notifications", "orders"}
WITH_BACKING |= {"payments", "shipping"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackingServers]:
    # Its own servers: this provisions the real services' names.
    with BackingServers(tmp_path_factory.mktemp("provision-command")) as started:
        yield started


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOSAIC_")}
    return mosaic("admin", "provision", *args, env=env, timeout=120)


def provision(servers: BackingServers, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(
        *("--postgres-admin-url", servers.admin_database_url),
        *("--valkey-admin-url", servers.admin_redis_url),
        *("--out", str(out)),
        *args,
    )


def env_file(out: Path, service: str) -> dict[str, str]:
    lines = (out / f"{service}.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


async def test_provisions_every_service_once_and_again_the_same(
    servers: BackingServers, tmp_path: Path
) -> None:
    out = tmp_path / "secrets"
    first = provision(servers, out)
    assert first.returncode == 0, first.stderr
    files = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    again = provision(servers, out)

    assert again.returncode == 0, again.stderr
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == files
    assert {p.stem for p in out.glob("*.env")} == WITH_BACKING  # currency: nothing to write
    assert "catalog: Postgres role and database 'catalog'" in first.stdout
    assert "notifications: broker user for events:notifications, reading orders" in first.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in out.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not list(out.rglob("*.tmp"))
    catalog = env_file(out, "catalog")
    assert set(catalog) == {"DATABASE_URL", "REDIS_URL"}
    assert (out / "catalog" / "DATABASE_URL").read_text() == catalog["DATABASE_URL"]
    assert set(env_file(out, "orders")) == {"DATABASE_URL", "BROKER_URL"}
    assert set(env_file(out, "frontend")) == {"REDIS_URL", "CSRF_SECRET"}
    # What each Kubernetes pod's `<svc>-backing` Secret volume lists by key (kubernetes_pods).
    for service in discover_services(services_dir()):
        folder = out / service.name
        written = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
        assert written == set(provisioned_variables(service)), service.name


async def test_the_urls_work_and_keep_services_apart(
    servers: BackingServers, tmp_path: Path
) -> None:
    out = tmp_path / "secrets"
    result = provision(servers, out, "--service", "catalog", "--service", "cart")
    assert result.returncode == 0, result.stderr
    catalog, cart = env_file(out, "catalog"), env_file(out, "cart")

    conn = await asyncpg.connect(catalog["DATABASE_URL"])
    try:
        assert await conn.fetchval("SELECT current_database()") == "catalog"
    finally:
        await conn.close()
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await asyncpg.connect(with_database(catalog["DATABASE_URL"], "cart"))
    conn = await asyncpg.connect(cart["DATABASE_URL"])
    await conn.close()

    client = aioredis.Redis.from_url(catalog["REDIS_URL"])
    try:
        await client.set("catalog:x", "1")
        with pytest.raises(redis.exceptions.NoPermissionError):
            await client.set("frontend:x", "1")
        with pytest.raises(redis.exceptions.NoPermissionError):
            await client.keys("*")
    finally:
        await client.aclose()


async def test_the_services_reach_the_servers_by_the_hosts_given(
    servers: BackingServers, tmp_path: Path
) -> None:
    out = tmp_path / "secrets"
    result = provision(
        servers,
        out,
        "--service",
        "accounts",
        "--postgres-host",
        "postgres:5432",
        "--valkey-host",
        "valkey",
    )
    assert result.returncode == 0, result.stderr
    accounts = env_file(out, "accounts")
    assert urlsplit(accounts["DATABASE_URL"]).netloc.endswith("@postgres:5432")
    assert urlsplit(accounts["DATABASE_URL"]).path == "/accounts"
    valkey_port = urlsplit(servers.admin_redis_url).port
    assert urlsplit(accounts["REDIS_URL"]).netloc.endswith(f"@valkey:{valkey_port}")
    assert urlsplit(accounts["BROKER_URL"]).username == "broker.accounts"


@pytest.mark.parametrize(
    ("args", "code", "message", "hint"),
    [
        (
            ("--postgres-admin-url", "mysql://root:pw@db/x"),
            2,
            "is not a postgresql:// URL with a host",
            "postgresql://USER:PASSWORD@HOST:PORT",
        ),
        (
            ("--postgres-admin-url", "postgresql://u:pw@db:port/x"),
            2,
            "the port in the URL is not a number",
            "postgresql://USER:PASSWORD@HOST:PORT",
        ),
        (
            ("--valkey-admin-url", "redis://admin:pw@127.0.0.1:{free}", "--service", "frontend"),
            1,
            "cannot reach redis://127.0.0.1:",
            "Check that the server runs",
        ),
        (
            (
                "--postgres-admin-url",
                "postgresql://postgres:pw@127.0.0.1:{free}/postgres",
                "--service",
                "cart",
            ),
            1,
            "cannot reach postgresql://127.0.0.1:",
            "Check that the server runs",
        ),
        (("--service", "nosuch"), 2, "no service named nosuch", "Services here:"),
        (
            ("--postgres-host", "postgres:x", "--service", "cart"),
            2,
            "is not HOST or HOST:PORT",
            "For example: postgres:5432",
        ),
    ],
)
def test_bad_input_is_a_clear_error(
    args: tuple[str, ...], code: int, message: str, hint: str, tmp_path: Path
) -> None:
    free = str(free_port())
    filled = [a.replace("{free}", free) for a in args]
    result = run("--out", str(tmp_path / "out"), *filled)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert hint in result.stderr
    assert "Traceback" not in result.stderr
    assert ":pw@" not in result.stderr


def test_a_wrong_admin_password_is_a_clear_error(servers: BackingServers, tmp_path: Path) -> None:
    for option, url, service in (
        ("--postgres-admin-url", servers.admin_database_url, "cart"),
        ("--valkey-admin-url", servers.admin_redis_url, "frontend"),
    ):
        parts = urlsplit(url)
        wrong = url.replace(f":{parts.password}@", ":not-the-password@")
        result = run(option, wrong, "--out", str(tmp_path), "--service", service)
        assert result.returncode == 1, result.stderr
        assert "refused the admin user" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert "not-the-password" not in result.stderr


def test_a_service_whose_server_has_no_admin_url_says_which(tmp_path: Path) -> None:
    result = run("--out", str(tmp_path), "--service", "frontend")
    assert result.returncode == 2
    assert "frontend needs Valkey, and no admin URL for it was given" in result.stderr
    assert "Give --valkey-admin-url" in result.stderr


def test_admin_urls_from_files_keep_the_passwords_off_the_command_line(
    servers: BackingServers, tmp_path: Path
) -> None:
    postgres_file, valkey_file = tmp_path / "postgres-admin-url", tmp_path / "valkey-admin-url"
    postgres_file.write_text(servers.admin_database_url + "\n")  # as an editor leaves it
    valkey_file.write_text(servers.admin_redis_url + "\n")
    out = tmp_path / "secrets"
    result = run(
        *("--postgres-admin-url-file", str(postgres_file)),
        *("--valkey-admin-url-file", str(valkey_file)),
        *("--out", str(out), "--service", "catalog"),
    )
    assert result.returncode == 0, result.stderr
    assert set(env_file(out, "catalog")) == {"DATABASE_URL", "REDIS_URL"}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("both", "give --postgres-admin-url or --postgres-admin-url-file, not both"),
        ("missing", "--postgres-admin-url-file: no file at"),
        ("empty", "is empty"),
    ],
)
def test_a_bad_admin_url_file_is_a_clear_error(tmp_path: Path, case: str, message: str) -> None:
    url_file = tmp_path / "url"
    if case != "missing":
        url_file.write_text("\n" if case == "empty" else "postgresql://u:pw@127.0.0.1:1/x\n")
    both = ("--postgres-admin-url", "postgresql://u:pw@127.0.0.1:1/x") if case == "both" else ()
    result = run(*both, "--postgres-admin-url-file", str(url_file), "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert ":pw@" not in result.stderr


def test_wait_provisions_servers_that_start_after_it(tmp_path: Path) -> None:
    """As under compose: provisioning starts while Postgres is still running initdb."""
    password = tmp_path / "admin-password"
    password.write_text("admin-pw\n")
    pg_port, valkey_port = free_port(), free_port()
    out = tmp_path / "secrets"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOSAIC_")}
    argv = [sys.executable, "-m", "mosaic", "admin", "provision", "--wait", "120"]
    argv += ["--postgres-admin-url", f"postgresql://postgres:admin-pw@127.0.0.1:{pg_port}/postgres"]
    argv += ["--valkey-admin-url", f"redis://admin:admin-pw@127.0.0.1:{valkey_port}/0"]
    argv += ["--out", str(out), "--service", "catalog"]
    provisioning = subprocess.Popen(
        argv, text=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    servers: list[subprocess.Popen[str]] = []
    try:
        assert provisioning.stdout is not None
        first = provisioning.stdout.readline()  # blocks until it has found nothing there
        assert f"waiting for postgresql://127.0.0.1:{pg_port} to accept connections" in first
        for server, port in (("postgres", pg_port), ("valkey", valkey_port)):
            argv = [sys.executable, "-m", "mosaic", "serve", server, "--port", str(port)]
            argv += ["--data", str(tmp_path / server), "--password-file", str(password)]
            servers.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, text=True))
        rest, errors = provisioning.communicate(timeout=180)
        assert provisioning.returncode == 0, first + rest + errors
        assert set(env_file(out, "catalog")) == {"DATABASE_URL", "REDIS_URL"}
    finally:
        for process in (provisioning, *servers):
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=30)  # also closes the pipes


def test_wait_gives_up_after_its_seconds(tmp_path: Path) -> None:
    url = f"postgresql://postgres:pw@127.0.0.1:{free_port()}/postgres"
    result = run(
        "--postgres-admin-url", url, "--wait", "1", "--out", str(tmp_path), "--service", "cart"
    )
    assert result.returncode == 1, result.stderr
    assert "did not accept connections within 1 s" in result.stderr
    assert "waiting for postgresql://127.0.0.1:" in result.stdout
    assert ":pw@" not in result.stderr + result.stdout


def test_wait_does_not_wait_on_a_refused_password(servers: BackingServers, tmp_path: Path) -> None:
    parts = urlsplit(servers.admin_database_url)
    wrong = servers.admin_database_url.replace(f":{parts.password}@", ":not-the-password@")
    result = run(
        "--postgres-admin-url", wrong, "--wait", "600", "--out", str(tmp_path), "--service", "cart"
    )  # the command's own timeout (120 s) would fail a test that waited the 600
    assert result.returncode == 1, result.stderr
    assert "refused the admin user" in result.stderr
    assert "waiting for" not in result.stdout


async def test_a_passwords_file_converges_the_servers_to_its_passwords(
    servers: BackingServers, tmp_path: Path
) -> None:
    """The Kubernetes Job's way: the passwords come from a file the Secrets were made from
    (`mosaic deploy k8s secrets`), read only; the URLs work with exactly those, and a run
    after a run that made its own passwords takes the server over to the file's."""
    out = tmp_path / "out"
    assert provision(servers, out, "--service", "catalog").returncode == 0  # its own first
    given = {"postgres/catalog": "from-the-file-pg", "valkey/catalog": "from-the-file-vk"}
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps(given))
    passwords.chmod(0o400)  # a Secret volume: read only
    before = (out / "secrets.json").read_text()

    result = provision(servers, out, "--service", "catalog", "--passwords-file", str(passwords))

    assert result.returncode == 0, result.stderr
    catalog = env_file(out, "catalog")
    assert urlsplit(catalog["DATABASE_URL"]).password == "from-the-file-pg"
    assert urlsplit(catalog["REDIS_URL"]).password == "from-the-file-vk"
    conn = await asyncpg.connect(catalog["DATABASE_URL"])
    await conn.close()
    client = aioredis.Redis.from_url(catalog["REDIS_URL"])
    try:
        await client.set("catalog:x", "1")
    finally:
        await client.aclose()
    assert json.loads(passwords.read_text()) == given
    assert (out / "secrets.json").read_text() == before  # the folder's own are left alone


def test_a_passwords_file_without_a_password_is_a_clear_error(
    servers: BackingServers, tmp_path: Path
) -> None:
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"postgres/cart": "x"}))
    result = provision(
        servers, tmp_path / "out", "--service", "frontend", "--passwords-file", str(passwords)
    )
    assert result.returncode == 2, result.stderr
    assert f"{passwords} holds no password for valkey/frontend" in result.stderr
    assert "mosaic deploy k8s secrets" in result.stderr
    assert json.loads(passwords.read_text()) == {"postgres/cart": "x"}  # nothing added
    missing = run("--out", str(tmp_path / "o"), "--passwords-file", str(tmp_path / "none.json"))
    assert missing.returncode == 2
    assert "--passwords-file: no file at" in missing.stderr
    assert "Traceback" not in result.stderr + missing.stderr
