"""Where `mosaic up --faults` puts its proxies (mosaic.chaos.hops), and the runner's
refusals for `mosaic chaos` (mosaic.chaos.runner), without a running shop."""

import asyncio
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest
from mosaic.chaos.hops import Hops, parse_hop
from mosaic.chaos.runner import Chaos
from mosaic.errors import MosaicError, UsageError
from mosaic.ports import free_port
from mosaic.services import Service, url_variable
from mosaic_testing import mosaic


def by_name(services: list[Service], name: str) -> Service:
    return next(s for s in services if s.name == name)


async def test_each_caller_gets_its_own_proxy_per_callee(services: list[Service]) -> None:
    frontend, cart = by_name(services, "frontend"), by_name(services, "cart")
    assert "catalog" in frontend.calls and "catalog" in cart.calls
    hops = Hops()
    try:
        env: dict[str, str] = {url_variable(c): "https://127.0.0.1:20001" for c in frontend.calls}
        env.update(
            REDIS_URL="redis://frontend:pw@127.0.0.1:20002/0",
            LOG_FORMAT="json",
        )
        wired = await hops.wire(frontend, env)
        cart_env = {url_variable(c): "https://127.0.0.1:20001" for c in cart.calls}
        cart_env["DATABASE_URL"] = "postgresql://cart:pw@127.0.0.1:20003/cart"
        cart_wired = await hops.wire(cart, cart_env)
    finally:
        await hops.close()
    catalog = hops.proxies["frontend->catalog"]
    assert wired["CATALOG_URL"] == f"https://127.0.0.1:{catalog.port}"
    assert catalog.target == ("127.0.0.1", 20001)
    valkey = hops.proxies["frontend->valkey"]
    assert wired["REDIS_URL"] == f"redis://frontend:pw@127.0.0.1:{valkey.port}/0"
    assert valkey.target == ("127.0.0.1", 20002)
    assert wired["LOG_FORMAT"] == "json"  # the rest untouched
    postgres = hops.proxies["cart->postgres"]
    assert cart_wired["DATABASE_URL"] == f"postgresql://cart:pw@127.0.0.1:{postgres.port}/cart"
    assert hops.proxies["cart->catalog"].port != catalog.port  # one hop per caller


def test_hops_are_named_either_way() -> None:
    assert parse_hop("frontend->catalog") == ("frontend", "catalog")
    assert parse_hop("catalog:postgres") == ("catalog", "postgres")
    for bad in ("frontend", "->catalog", "frontend:"):
        with pytest.raises(UsageError, match="is no hop"):
            parse_hop(bad)


def _stack() -> Any:
    notes: list[str] = []
    return SimpleNamespace(
        processes=[], backing=SimpleNamespace(servers=[]), logs=SimpleNamespace(note=notes.append)
    )


async def test_faults_need_up_with_faults() -> None:
    chaos = Chaos(_stack(), None)
    request = {"op": "chaos.fault", "hop": "frontend:catalog", "fault": {"kind": "reset"}}
    with pytest.raises(MosaicError, match="started without --faults") as refused:
        await chaos.handle(request)
    assert "mosaic up --faults" in refused.value.hint
    assert (await chaos.handle({"op": "chaos.faults"}))["faults"] is False


async def test_the_runner_refuses_what_it_cannot_do() -> None:
    hops = Hops()
    chaos = Chaos(_stack(), hops)
    for request, says in [
        ({"op": "chaos.fault", "hop": "a:b", "fault": {"kind": "reset"}}, "no hop a->b"),
        ({"op": "chaos.restart", "server": "valkey"}, "runs no valkey of its own"),
        ({"op": "chaos.restart", "server": "mysql"}, "cannot restart 'mysql'"),
        ({"op": "chaos.kill", "service": "catalog"}, "runs no service 'catalog'"),
        ({"op": "chaos.what"}, "unknown request"),
    ]:
        with pytest.raises(MosaicError, match=None) as refused:
            await chaos.handle(request)
        assert says in refused.value.message, request


async def becomes(pid: int, *, stopped: bool) -> bool:
    """Whether the process gets to be stopped (or not) within 2.5 s: a signal lands soon
    after it is sent, not at once."""
    for _ in range(50):
        if (psutil.Process(pid).status() == psutil.STATUS_STOPPED) == stopped:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_pause_ends_by_its_timer_or_when_the_shop_stops() -> None:
    """SIGSTOP, then SIGCONT from the runner's timer; resume_all (the shop stopping) ends a
    pause early. A real child in a session of its own, as the supervisor starts them."""
    child = await asyncio.create_subprocess_exec("sleep", "60", start_new_session=True)
    identity = SimpleNamespace(name="toy.web.1", service="toy", process="web", replica=1)
    stack = _stack()
    stack.processes.append(SimpleNamespace(identity=identity, pid=child.pid, state="ready"))
    chaos = Chaos(stack, None)
    try:
        await chaos.handle({"op": "chaos.pause", "service": "toy", "seconds": 0.5})
        assert await becomes(child.pid, stopped=True)
        assert [p["name"] for p in (await chaos.handle({"op": "chaos.faults"}))["paused"]] == [
            "toy.web.1"
        ]
        await asyncio.sleep(0.6)
        assert await becomes(child.pid, stopped=False)
        assert (await chaos.handle({"op": "chaos.faults"}))["paused"] == []

        await chaos.handle({"op": "chaos.pause", "service": "toy.web.1", "seconds": 60})
        with pytest.raises(MosaicError, match="paused already"):
            await chaos.handle({"op": "chaos.pause", "service": "toy", "seconds": 5})
        assert await becomes(child.pid, stopped=True)
        chaos.resume_all()
        assert await becomes(child.pid, stopped=False)
    finally:
        child.kill()
        await child.wait()


def test_faults_with_in_process_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    demo = Path(__file__).parent / "demo_services"
    env = {**os.environ, "MOSAIC_HOME": str(tmp_path), "MOSAIC_SERVICES_DIR": str(demo)}
    result = mosaic("up", "--in-process", "--faults", "--port", str(free_port()), env=env)
    assert result.returncode == 2
    assert "--faults cannot be combined with --in-process" in result.stderr
    assert "Traceback" not in result.stderr


def test_chaos_without_a_running_shop_says_how_to_start_one(tmp_path: Path) -> None:
    env = {**os.environ, "MOSAIC_HOME": str(tmp_path)}
    for args in (("faults",), ("kill", "catalog"), ("fault", "frontend:catalog", "reset")):
        result = mosaic("chaos", *args, env=env)
        assert result.returncode == 1, args
        assert "no mosaic up runs on" in result.stderr and "mosaic up --faults" in result.stderr
