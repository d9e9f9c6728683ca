"""Memorystore for Valkey, which refuses ACL commands: `mosaic deploy k8s secrets
--valkey-acl-policy` writes its ACL policy, `mosaic admin provision --valkey-users external`
leaves Valkey alone, and a Valkey that answers NOPERM gets a message saying so. Against real
embedded Postgres and Valkey; no Memorystore here, so what the policy does there is checked
as far as Valkey itself goes: each rule, given to `ACL SETUSER`, makes exactly the user that
provisioning makes."""

import base64
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
import yaml
from mosaic.backing import BackingServers
from mosaic.ports import free_port
from mosaic_testing import mosaic

OURS = {"default", "admin"}  # the server's own users, not provisioning's


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackingServers]:
    with BackingServers(tmp_path_factory.mktemp("memorystore")) as started:
        yield started


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MOSAIC_")}


def _secrets(tmp_path: Path, servers: BackingServers, *args: str) -> Path:
    """`mosaic deploy k8s secrets --valkey-acl-policy`, as docs/deploy.md runs it for GKE;
    the policy file's path."""
    policy = tmp_path / "valkey-acl-policy.yaml"
    port = urlsplit(servers.admin_redis_url).port
    done = mosaic(
        *("deploy", "k8s", "secrets", "--valkey-acl-policy", str(policy)),
        *("--postgres-admin-url", servers.admin_database_url),
        *("--postgres-host", "127.0.0.1:5432", "--valkey-host", f"127.0.0.1:{port}"),
        *("--state", str(tmp_path / "state"), "--out", str(tmp_path / "secrets.yaml")),
        *args,
        env=_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return policy


def _rules(policy: Path) -> dict[str, str]:
    """The policy's rules by user name, as gcloud reads the flags file: a list of one-flag
    dictionaries, each `--rules` with `username` and `rule`."""
    found = yaml.safe_load(policy.read_text())
    assert isinstance(found, list)
    rules = {}
    for entry in found:
        assert list(entry) == ["--rules"]
        assert set(entry["--rules"]) == {"username", "rule"}
        rules[entry["--rules"]["username"]] = entry["--rules"]["rule"]
    assert len(rules) == len(found)  # no user twice
    return rules


def _secret_values(text: str) -> dict[str, dict[str, str]]:
    return {
        d["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in d["data"].items()}
        for d in yaml.safe_load_all(text)
        if d and d["kind"] == "Secret"
    }


async def _acl_list(admin_url: str) -> dict[str, str]:
    """`ACL LIST`, by user: Valkey's own normal form of each user's rules."""
    client = aioredis.Redis.from_url(admin_url, decode_responses=True)
    try:
        lines = await client.acl_list()
    finally:
        await client.aclose()
    return {str(line).split()[1]: str(line) for line in lines}


async def test_the_policy_makes_the_users_provisioning_makes(
    servers: BackingServers, tmp_path: Path
) -> None:
    policy = _secrets(tmp_path, servers)
    assert stat.S_IMODE(policy.stat().st_mode) == 0o600
    rules = _rules(policy)
    assert {"catalog", "broker.orders", "broker.notifications"} <= set(rules)
    assert any(word.startswith("(") for word in rules["broker.notifications"].split())

    # Provisioning on a Valkey of our own, with the passwords the Secrets and the policy hold.
    done = mosaic(
        *("admin", "provision", "--out", str(tmp_path / "out")),
        *("--postgres-admin-url", servers.admin_database_url),
        *("--valkey-admin-url", servers.admin_redis_url),
        *("--passwords-file", str(tmp_path / "state" / "secrets.json")),
        env=_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    provisioned = await _acl_list(servers.admin_redis_url)
    assert set(rules) == set(provisioned) - OURS

    # Each rule as Memorystore gets it (one string per user), set on a scratch user: the
    # same user, to the password hash, as provisioning's ACL SETUSER made.
    client = aioredis.Redis.from_url(servers.admin_redis_url, decode_responses=True)
    try:
        for username, rule in rules.items():
            setuser = ("ACL", "SETUSER", "scratch", "reset", *rule.split())
            await client.execute_command(*setuser)  # type: ignore[no-untyped-call]
            line = (await _acl_list(servers.admin_redis_url))["scratch"]
            assert line.replace("user scratch ", f"user {username} ", 1) == provisioned[username]
        await client.acl_deluser("scratch")
    finally:
        await client.aclose()

    # And the Secrets' URLs sign in as those users (REDIS_URL, BROKER_URL).
    backing = _secret_values((tmp_path / "secrets.yaml").read_text())
    for url in (backing["catalog-backing"]["REDIS_URL"], backing["orders-backing"]["BROKER_URL"]):
        user = aioredis.Redis.from_url(url)
        try:
            assert await user.ping()
        finally:
            await user.aclose()
    provision_secret = backing["mosaic-provision"]
    assert "valkey-admin-url" not in provision_secret
    passwords: dict[str, Any] = yaml.safe_load(provision_secret["passwords.json"])
    assert passwords and not [k for k in passwords if k.startswith(("valkey/", "broker/"))]


async def test_external_users_touch_no_valkey_and_still_write_the_urls(
    servers: BackingServers, tmp_path: Path
) -> None:
    nowhere = free_port()  # nothing listens: a connection would fail, a wait would time out
    out = tmp_path / "out"
    done = mosaic(
        *("admin", "provision", "--out", str(out), "--valkey-users", "external"),
        *("--postgres-admin-url", servers.admin_database_url),
        *("--valkey-admin-url", f"redis://admin:unused@127.0.0.1:{nowhere}/0"),
        *("--wait", "3", "--service", "catalog", "--service", "orders"),
        env=_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "catalog: its Valkey users are managed outside (--valkey-users external)" in done.stdout
    for service, variable, user in (
        ("catalog", "REDIS_URL", "catalog"),
        ("orders", "BROKER_URL", "broker.orders"),
    ):
        url = urlsplit((out / service / variable).read_text())
        assert (url.username, url.hostname, url.port) == (user, "127.0.0.1", nowhere)
    assert (out / "orders" / "DATABASE_URL").is_file()  # Postgres was provisioned
    # The users it did not make, as the policy that makes them, with the URLs' passwords
    # (Cloud Run's provisioning job leaves it in its bucket for the operator).
    policy = out / "valkey-acl-policy.yaml"
    assert policy.stat().st_mode & 0o777 == 0o600
    rules = {
        r["--rules"]["username"]: r["--rules"]["rule"] for r in yaml.safe_load(policy.read_text())
    }
    assert set(rules) == {"catalog", "broker.orders"}
    for service, variable in (("catalog", "REDIS_URL"), ("orders", "BROKER_URL")):
        url = urlsplit((out / service / variable).read_text())
        digest = hashlib.sha256((url.password or "").encode()).hexdigest()
        assert (
            f"#{digest}" in rules[url.username or ""]
            or f">{url.password}" in rules[url.username or ""]
        )


async def test_a_valkey_refusing_acl_commands_says_what_to_do(
    servers: BackingServers, tmp_path: Path
) -> None:
    """A real user without ACL permission answers NOPERM, as Memorystore does to all."""
    client = aioredis.Redis.from_url(servers.admin_redis_url)
    try:
        await client.acl_setuser(
            "no-acl", reset=True, enabled=True, passwords=["+pw"], keys=["*"],
            channels=["*"], categories=["+@all", "-@admin"],
        )  # fmt: skip
    finally:
        await client.aclose()
    port = urlsplit(servers.admin_redis_url).port
    try:
        done = mosaic(
            *("admin", "provision", "--out", str(tmp_path / "out"), "--service", "catalog"),
            *("--postgres-admin-url", servers.admin_database_url),
            *("--valkey-admin-url", f"redis://no-acl:pw@127.0.0.1:{port}/0"),
            env=_env(),
            timeout=120,
        )
    finally:
        client = aioredis.Redis.from_url(servers.admin_redis_url)
        try:
            await client.acl_deluser("no-acl")
        finally:
            await client.aclose()
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stderr
    (first, *_) = done.stderr.strip().splitlines()
    assert "(NOPERM)" in first and "'no-acl'" in first
    assert "--valkey-acl-policy FILE" in first and "--valkey-users external" in first
    assert "pw@" not in done.stderr


@pytest.mark.parametrize(
    "extra", [["--dev"], ["--valkey-admin-url", "redis://admin:x@valkey:6379"]]
)
def test_the_policy_replaces_the_valkey_admin_url(tmp_path: Path, extra: list[str]) -> None:
    done = mosaic(
        *("deploy", "k8s", "secrets", "--valkey-acl-policy", str(tmp_path / "p.yaml")),
        *("--state", str(tmp_path / "state"), "--out", "-", *extra),
        env=_env(),
        timeout=60,
    )
    assert done.returncode == 2
    assert "give --valkey-acl-policy or --dev or --valkey-admin-url" in done.stderr
    assert not (tmp_path / "p.yaml").exists()
