"""`mosaic serve postgres|valkey|mailbox`, the processes containers run, as real subprocesses
on free ports: they serve, keep their data across a restart and stop cleanly on a signal."""

import asyncio
import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Self

import asyncpg
import pytest
import redis.asyncio as aioredis
import redis.exceptions
from mosaic.backing import provision_valkey
from mosaic.ports import free_port
from mosaic_testing import wait_until

PASSWORD = "s3cret-admin"


class Serve:
    """One `mosaic serve ...` subprocess; killed with its group if a test leaves it running."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.log = tmp / f"serve-{free_port()}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOSAIC_")}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mosaic", "serve", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text()

    def stop(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=60)

    def running(self) -> bool:
        return self.process.poll() is None


def password_file(tmp: Path, content: str = PASSWORD + "\n") -> Path:
    path = tmp / "admin-password"
    path.write_text(content)
    path.chmod(0o600)
    return path


def outside_address() -> str | None:
    """This machine's address on its network, which reaches 0.0.0.0 but not 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # UDP: sends nothing, only picks the route
        except OSError:
            return None
        address: str = sock.getsockname()[0]
    return None if address.startswith("127.") else address


async def postgres_login(host: str, port: int) -> asyncpg.Connection | None:
    try:
        conn: asyncpg.Connection = await asyncpg.connect(
            f"postgresql://postgres:{PASSWORD}@{host}:{port}/postgres", timeout=2
        )
    except (TimeoutError, OSError, asyncpg.CannotConnectNowError):
        return None
    return conn


async def wait_postgres(serve: Serve, host: str, port: int) -> asyncpg.Connection:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while (conn := await postgres_login(host, port)) is None:
        assert serve.running(), serve.output()
        assert loop.time() < deadline, "postgres did not accept the admin within 60 s"
        await asyncio.sleep(0.1)
    return conn


@pytest.fixture
def cluster_home() -> Iterator[Path]:
    """A folder for a cluster outside pytest's temporary root. As root, Postgres runs as its
    own OS user, which must traverse every folder above its data (the runner opens them);
    pytest keeps its root private (0700) and may close it again. Once (a clean-clone run,
    2026-12-06) initdb was refused its own pg_control mid-way: a folder of our own under
    /tmp is opened once and left alone."""
    folder = Path(tempfile.mkdtemp(prefix="mosaic-serve-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def test_postgres_serves_keeps_its_data_and_stops_on_sigint(
    tmp_path: Path, cluster_home: Path
) -> None:
    data, port, pw = cluster_home / "volume" / "cluster", free_port(), password_file(tmp_path)
    args = ("postgres", "--data", str(data), "--password-file", str(pw), "--port", str(port))
    with Serve(tmp_path, *args) as serve:
        conn = await wait_postgres(serve, "127.0.0.1", port)
        await conn.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
        await conn.close()
        # exec'd: the process compose signals is the postmaster itself
        assert (data / "postmaster.pid").read_text().split()[0] == str(serve.process.pid)
        assert serve.stop(signal.SIGINT) == 0
        assert "Traceback" not in serve.output()
        assert "database system is shut down" in serve.output()
    with Serve(tmp_path, *args) as again:
        conn = await wait_postgres(again, "127.0.0.1", port)
        try:
            assert await conn.fetchval("SELECT v FROM kept") == 7
        finally:
            await conn.close()
        assert again.stop(signal.SIGTERM) == 0
        assert "Traceback" not in again.output()


async def test_postgres_on_all_addresses_admits_logins_from_the_network(
    tmp_path: Path, cluster_home: Path
) -> None:
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    data, port, pw = cluster_home / "cluster", free_port(), password_file(tmp_path)
    args = ("--data", str(data), "--password-file", str(pw), "--port", str(port))
    with Serve(tmp_path, "postgres", *args, "--host", "0.0.0.0") as serve:
        conn = await wait_postgres(serve, address, port)
        await conn.close()
        with pytest.raises(asyncpg.InvalidPasswordError):  # still a password for everyone
            await asyncpg.connect(f"postgresql://postgres:wrong@{address}:{port}/postgres")
        assert serve.stop(signal.SIGINT) == 0


@pytest.mark.parametrize(
    ("content", "error"),
    [(None, "--password-file: no file at"), ("\n", "is empty")],
)
@pytest.mark.parametrize("server", ["postgres", "valkey"])
def test_a_missing_or_empty_password_file_is_a_clear_error(
    tmp_path: Path, server: str, content: str | None, error: str
) -> None:
    pw = tmp_path / "admin-password"
    if content is not None:
        pw.write_text(content)
    args = (server, "--data", str(tmp_path / "data"), "--password-file", str(pw))
    with Serve(tmp_path, *args, "--port", str(free_port())) as serve:
        assert serve.process.wait(timeout=30) == 2
        assert error in serve.output()
        assert "Traceback" not in serve.output()
    assert not (tmp_path / "data").exists()


async def valkey_ping(url: str) -> bool:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except (OSError, redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
        return False
    finally:
        await client.aclose()


async def wait_valkey(serve: Serve, url: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not await valkey_ping(url):
        assert serve.running(), serve.output()
        assert loop.time() < deadline, "valkey did not answer the admin within 30 s"
        await asyncio.sleep(0.05)


async def test_valkey_keeps_keys_and_provisioned_users_across_a_restart(tmp_path: Path) -> None:
    data, port, pw = tmp_path / "valkey", free_port(), password_file(tmp_path)
    args = ("valkey", "--data", str(data), "--password-file", str(pw), "--port", str(port))
    admin = f"redis://admin:{PASSWORD}@127.0.0.1:{port}/0"
    with Serve(tmp_path, *args) as serve:
        await wait_valkey(serve, admin)
        service_url = await provision_valkey(admin, "catalog", "catalog-password")  # ACL SAVE
        client = aioredis.Redis.from_url(service_url)
        await client.set("catalog:kept", "yes")
        await client.aclose()
        assert serve.stop(signal.SIGTERM) == 0
        assert "Traceback" not in serve.output()
    with Serve(tmp_path, *args) as again:
        await wait_valkey(again, admin)
        # compose restarts Valkey without provisioning again: the service logs straight in
        client = aioredis.Redis.from_url(service_url)
        try:
            assert await client.get("catalog:kept") == b"yes"
        finally:
            await client.aclose()
        assert again.stop(signal.SIGTERM) == 0


async def test_valkey_on_all_addresses_admits_the_network_with_a_password(
    tmp_path: Path,
) -> None:
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    data, port, pw = tmp_path / "valkey", free_port(), password_file(tmp_path)
    args = ("--data", str(data), "--password-file", str(pw), "--port", str(port))
    with Serve(tmp_path, "valkey", *args, "--host", "0.0.0.0") as serve:
        await wait_valkey(serve, f"redis://admin:{PASSWORD}@{address}:{port}/0")
        anonymous = aioredis.Redis(host=address, port=port)
        try:
            with pytest.raises(redis.exceptions.AuthenticationError):
                await anonymous.get("x")
        finally:
            await anonymous.aclose()
        assert serve.stop(signal.SIGTERM) == 0


def test_mailbox_keeps_and_lists_mail_and_stops_on_sigterm(tmp_path: Path) -> None:
    smtp_port, page_port = free_port(), free_port()
    args = ["mailbox", "--dir", str(tmp_path / "mail")]
    args += ["--smtp-port", str(smtp_port), "--port", str(page_port)]
    with Serve(tmp_path, *args) as serve:
        wait_until(lambda: "Mailbox:" in serve.output() or not serve.running(), 30, "ready line")
        assert serve.running(), serve.output()
        message = EmailMessage()
        message["From"], message["To"] = "shop@example.com", "ada@example.com"
        message["Subject"] = "Your order"
        message.set_content("Thanks!")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.send_message(message)
        with urllib.request.urlopen(f"http://127.0.0.1:{page_port}/messages.json") as page:
            listing = json.load(page)["messages"]
        assert [(m["subject"], m["to"]) for m in listing] == [("Your order", ["ada@example.com"])]
        assert serve.stop(signal.SIGTERM) == 0
        assert "Traceback" not in serve.output()
    with Serve(tmp_path, *args) as again:  # the mail is still there, and SIGINT stops too
        wait_until(lambda: "Mailbox:" in again.output() or not again.running(), 30, "ready line")
        with urllib.request.urlopen(f"http://127.0.0.1:{page_port}/messages.json") as page:
            assert len(json.load(page)["messages"]) == 1
        assert again.stop(signal.SIGINT) == 0
        assert "Traceback" not in again.output()
        assert "KeyboardInterrupt" not in again.output()
