"""Reading services: Procfiles, [tool.mosaic] tables, --scale, and the env a process gets."""

from pathlib import Path

import pytest
from mosaic.errors import MosaicError, UsageError
from mosaic.pki import Pki
from mosaic.plan import (
    callee_scheme,
    parse_scale,
    plan_processes,
    process_env,
    security_env,
    service_env,
)
from mosaic.procfile import parse_procfile, shell_argv
from mosaic.services import discover_services


def write_service(root: Path, name: str, table: str, procfile: str) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n\n[tool.mosaic]\n{table}')
    (folder / "Procfile").write_text(procfile)


def test_a_procfile_maps_types_to_commands_in_order() -> None:
    text = "# comment\n\nrelease: alembic upgrade head\nweb: python -m catalog --x=1\n"
    assert parse_procfile(text) == {
        "release": "alembic upgrade head",
        "web": "python -m catalog --x=1",
    }


@pytest.mark.parametrize("text", ["web python -m x", "web:", ": cmd", "web: a\nweb: b"])
def test_a_bad_procfile_line_is_named(text: str) -> None:
    with pytest.raises(MosaicError, match="line"):
        parse_procfile(text)


def test_a_simple_command_is_execed_and_a_compound_one_keeps_its_shell() -> None:
    assert shell_argv("python -m catalog") == ["/bin/sh", "-c", "exec python -m catalog"]
    assert shell_argv("echo 'a && b'")[2].startswith("exec ")
    assert shell_argv("alembic upgrade head && seed")[2] == "alembic upgrade head && seed"


def test_services_are_found_and_ordered_callees_first(tmp_path: Path) -> None:
    write_service(tmp_path, "front", 'calls = ["middle"]\nedge = true\n', "web: a\n")
    write_service(tmp_path, "middle", 'calls = ["store"]\nbacking = ["valkey"]\n', "web: b\n")
    write_service(tmp_path, "store", 'backing = ["postgres"]\n', "release: m\nweb: c\n")
    (tmp_path / "not_a_service").mkdir()
    services = discover_services(tmp_path)
    assert [s.name for s in services] == ["store", "middle", "front"]
    store = services[0]
    assert store.release == "m"
    assert store.processes == {"web": "c"}
    assert store.backing == {"postgres"}
    assert services[2].edge


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('backing = ["mysql"]\n', "unknown backing service mysql"),
        ('calls = ["ghost"]\n', "calls ghost"),
        ("calls = 3\n", "must be a list"),
        ("edge = 1\n", "edge must be true or false"),
        ('api = ["catalog.api"]\n', "must read module:router"),
        ('api = "catalog.api:router"\n', "must be a list"),
        ('consumes = ["x"]\n', "consumes needs the broker"),
        ('backing = ["broker"]\nconsumes = "x"\n', "consumes must be a list"),
        ('backing = ["broker"]\nconsumes = ["ghost"]\n', "consumes ghost, not found"),
        ("jobs = 3\n", "must be a table of jobs"),
        ('[tool.mosaic.jobs]\nrecover = { command = "x" }\n', "every = SECONDS"),
        ('[tool.mosaic.jobs]\nrecover = { command = "x", every = 0 }\n', "every = SECONDS"),
        ('[tool.mosaic.jobs]\nrecover = { command = "", every = 5 }\n', "every = SECONDS"),
        ('[tool.mosaic.jobs]\nrecover = { command = "x", every = true }\n', "every = SECONDS"),
        ('[tool.mosaic.jobs]\n"Bad Name" = { command = "x", every = 5 }\n', "job name"),
    ],
)
def test_a_bad_mosaic_table_is_explained(tmp_path: Path, table: str, message: str) -> None:
    write_service(tmp_path, "svc", table, "web: a\n")
    with pytest.raises(MosaicError, match=message):
        discover_services(tmp_path)


def test_events_and_jobs_are_read_from_the_table(tmp_path: Path) -> None:
    write_service(
        tmp_path,
        "shop",
        'backing = ["postgres", "broker"]\noutbox = "python -m shop.jobs outbox"\n',
        "web: a\n",
    )
    write_service(
        tmp_path,
        "mailer",
        'backing = ["broker", "smtp"]\nconsumes = ["shop"]\n\n[tool.mosaic.jobs]\n'
        'sweep = { command = "python -m mailer.jobs sweep", every = 30 }\n'
        'tidy = { command = "python -m mailer.jobs tidy", every = 0.5e1 }\n',
        "worker: b\n",
    )
    mailer, shop = discover_services(tmp_path)
    assert mailer.backing == {"broker", "smtp"}
    assert mailer.consumes == ("shop",)
    assert [(j.name, j.command, j.every) for j in mailer.jobs] == [
        ("sweep", "python -m mailer.jobs sweep", 30.0),
        ("tidy", "python -m mailer.jobs tidy", 5.0),
    ]
    assert shop.consumes == () and shop.jobs == ()
    assert shop.outbox == "python -m shop.jobs outbox" and mailer.outbox is None


def test_only_a_producer_can_be_consumed(tmp_path: Path) -> None:
    write_service(tmp_path, "shop", 'backing = ["postgres"]\n', "web: a\n")
    write_service(tmp_path, "mailer", 'backing = ["broker"]\nconsumes = ["shop"]\n', "w: b\n")
    with pytest.raises(MosaicError, match="publishes no events") as caught:
        discover_services(tmp_path)
    assert 'lists "broker"' in caught.value.hint


def test_no_service_may_own_the_event_streams(tmp_path: Path) -> None:
    write_service(tmp_path, "events", "", "web: a\n")
    with pytest.raises(MosaicError, match="reserved"):
        discover_services(tmp_path)


def test_a_call_cycle_is_refused(tmp_path: Path) -> None:
    write_service(tmp_path, "a", 'calls = ["b"]\n', "web: a\n")
    write_service(tmp_path, "b", 'calls = ["a"]\n', "web: b\n")
    with pytest.raises(MosaicError, match="cycle"):
        discover_services(tmp_path)


def test_scale_parses_services_and_process_types() -> None:
    assert parse_scale(["catalog=3", "catalog.worker=2"]) == {"catalog": 3, "catalog.worker": 2}


@pytest.mark.parametrize("value", ["catalog", "catalog=", "=2", "catalog=0", "catalog=99", "C=1"])
def test_bad_scale_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match="--scale") as caught:
        parse_scale([value])
    assert caught.value.exit_code == 2


def test_replicas_share_the_service_port_and_each_has_an_ops_port(tmp_path: Path) -> None:
    write_service(tmp_path, "front", 'calls = ["store"]\nedge = true\n', "web: a\n")
    write_service(tmp_path, "store", 'backing = ["postgres"]\n', "web: b\nworker: c\n")
    services = discover_services(tmp_path)
    plans = plan_processes(services, {"store": 2, "store.worker": 1}, edge_port=8123)
    names = [p.name for p in plans]
    assert names == ["store.web.1", "store.web.2", "store.worker.1", "front.web.1"]
    assert len({p.port for p in plans if p.service.name == "store"}) == 1
    assert len({p.ops_port for p in plans}) == len(plans)
    assert plans[-1].port == 8123
    with pytest.raises(UsageError, match="ghost"):
        plan_processes(services, {"ghost": 2}, edge_port=8123)


def test_a_process_sees_its_own_urls_and_no_admin_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOSAIC_DATABASE_URL", "postgresql://admin:secret@db/postgres")
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone:else@db/x")
    monkeypatch.setenv("BROKER_URL", "redis://someone:else@h/0")
    monkeypatch.setenv("SMTP_URL", "smtp://127.0.0.1:1")
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))  # would hand its files to every service
    write_service(tmp_path, "front", 'calls = ["store"]\nedge = true\n', "web: a\n")
    write_service(tmp_path, "store", 'backing = ["postgres"]\n', "web: b\n")
    store, front = discover_services(tmp_path)
    plans = plan_processes([store, front], {}, edge_port=8123)
    ports = {p.service.name: p.port for p in plans}
    front_env = process_env(
        service_env(front, ports, {}, shop_url="http://127.0.0.1:8123"), plans[1]
    )
    assert front_env["SHOP_URL"] == "http://127.0.0.1:8123"
    assert front_env["STORE_URL"] == f"http://127.0.0.1:{ports['store']}"  # no credentials
    assert front_env["PORT"] == "8123"
    assert front_env["MOSAIC_SERVICE"] == "front"
    assert front_env["MOSAIC_PROCESS"] == "web"
    assert front_env["MOSAIC_REPLICA"] == "1"
    assert front_env["LOG_FORMAT"] == "json"
    assert "MOSAIC_DATABASE_URL" not in front_env
    assert not {"DATABASE_URL", "BROKER_URL", "SMTP_URL", "SECRETS_DIR"} & set(front_env)
    store_env = service_env(store, ports, {"DATABASE_URL": "postgresql://store:pw@h/store"})
    assert store_env["DATABASE_URL"] == "postgresql://store:pw@h/store"


def test_routers_for_the_policy_are_named_in_the_table(tmp_path: Path) -> None:
    write_service(
        tmp_path, "store", 'api = ["store.api:router", "store.admin:routes"]\n', "web: a\n"
    )
    assert discover_services(tmp_path)[0].api == ("store.api:router", "store.admin:routes")


def test_no_service_may_take_the_operators_name(tmp_path: Path) -> None:
    write_service(tmp_path, "admin", "", "web: a\n")
    with pytest.raises(MosaicError, match="operator"):
        discover_services(tmp_path)


@pytest.mark.parametrize("transport", ["mtls", "mesh"])
def test_credentials_are_handed_over_by_file_and_decide_the_scheme(
    tmp_path: Path, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TLS_CERT_FILE", "/someone/elses.crt")
    write_service(tmp_path / "s", "front", 'calls = ["store"]\nedge = true\n', "web: a\n")
    write_service(tmp_path / "s", "store", "", "web: b\n")
    _, front = discover_services(tmp_path / "s")
    pki = Pki.of(tmp_path / "home")
    ports = {"store": 8001, "front": 8000}

    env = service_env(front, ports, {}, security_env(pki, front, transport))

    assert env["TRANSPORT_SECURITY"] == transport
    assert env["SERVICE_SIGNING_KEY_FILE"] == str(pki.service("front").signing_key)
    assert env["SERVICE_TRUST_DIR"] == str(pki.trust_dir)
    assert env["STORE_URL"] == f"{callee_scheme(transport)}://127.0.0.1:8001"
    if transport == "mtls":
        assert env["TLS_CERT_FILE"] == str(pki.service("front").cert)
        assert env["TLS_KEY_FILE"] == str(pki.service("front").key)
        assert env["TLS_CA_FILE"] == str(pki.ca_cert)
    else:
        assert callee_scheme(transport) == "http"
        assert not {"TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE"} & set(env)
