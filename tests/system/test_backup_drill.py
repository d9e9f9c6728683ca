"""The restore drill (issue 17): a shop with orders, a signed-up shopper and a filled cart is
backed up, stopped and destroyed; its backup restored into a new home serves the same data,
the shopper is still signed in, and a new checkout works. Then a damaged backup (a truncated
dump, a flipped byte, a schema revision from newer code) is refused with one line, and the
target is left exactly as it was.

The new home gets the old one's secrets.json and pki/ (what an operator keeps in a secret
store, never in a backup): with them, sessions restored from Valkey still sign the shopper in.
"""

import asyncio
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mosaic.admin.backing_urls import home_servers
from mosaic.admin.backup_manifest import MANIFEST, Manifest
from mosaic.admin.backup_postgres import stats_of
from mosaic.ports import free_port
from mosaic_testing import Guest, Shopper, UpProcess, mosaic

pytestmark = pytest.mark.system

PASSWORD = "violet harbour lantern drifts quietly"
GUEST_ORDERS = 3


def up_on(home: Path) -> UpProcess:
    ports = ("--mail-port", str(free_port()), "--dashboard-port", str(free_port()))
    return UpProcess(home, free_port(), *ports)


@dataclass
class Drill:
    backup: Path
    restored: Path  # the home the backup was restored into (stopped)


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    base = tmp_path_factory.mktemp("backup-drill")
    with Shopper("http://127.0.0.1") as shopper:  # one browser, across both shops
        yield from run_drill(base, shopper)


def run_drill(base: Path, shopper: Shopper) -> Iterator[Drill]:
    old, new, backup = base / "old", base / "new", base / "backup"
    email = f"ada-{uuid.uuid4().hex[:10]}@example.com"
    with up_on(old) as up:
        url = up.wait_ready(timeout=180)
        shopper.http.base_url = url
        shopper.sign_up("Ada Lovelace", email, PASSWORD, mail=up.mail)
        product = shopper.products()[0]
        shopper.add_to_cart(product)
        placed = shopper.place_order({**shopper.checkout_form(), "email": email})
        assert placed.status_code == 303, placed.text
        order_page = placed.headers["location"]
        shopper.add_to_cart(product, 2)  # a cart left filled
        with up.client("cart", "frontend") as cart, up.client("orders", "frontend") as orders:
            guest = Guest(cart, orders)
            guest_orders = []
            for _ in range(GUEST_ORDERS):
                guest.fill_cart({product: 1})
                answer = guest.place(Guest.checkout("guest@example.com"))
                assert answer.status_code in (200, 201, 202), answer.text
                guest_orders.append(answer.json()["id"])
        done = mosaic("admin", "backup", "--to", str(backup), env=up.env, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        under = mosaic("admin", "restore", "--from", str(backup), "--force", env=up.env)
        assert under.returncode == 1 and "mosaic up runs on" in under.stderr, under.stderr
    # The secrets travel apart from the backup; the old home is destroyed.
    new.mkdir()
    shutil.copy2(old / "secrets.json", new / "secrets.json")
    shutil.copytree(old / "pki", new / "pki")
    shutil.rmtree(old)

    env = {**up.env, "MOSAIC_HOME": str(new)}
    done = mosaic("admin", "restore", "--from", str(backup), env=env, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = Manifest.from_json((backup / MANIFEST).read_text())
    assert tables_now(new, manifest) == {
        name: s.tables for name, s in manifest.services.items() if s.schema_revision
    }

    with up_on(new) as up:
        url = up.wait_ready(timeout=180)
        shopper.http.base_url = url  # the same browser, its cookies, at the new address
        page = shopper.open(order_page)
        assert shopper.open("/").signed_in_as == "Ada Lovelace"
        assert "Confirmed" in page.text or "Paid" in page.text, page.text[:500]
        assert order_page.removeprefix("/orders/") in " ".join(
            shopper.open("/account/orders").links
        )
        assert shopper.open("/cart").cart_lines() == [product]
        with up.client("cart", "frontend") as cart, up.client("orders", "frontend") as orders:
            again = Guest(cart, orders, guest.visitor)
            assert [again.order(o)["id"] for o in guest_orders] == guest_orders
        placed = shopper.place_order({**shopper.checkout_form(), "email": email})
        assert placed.status_code == 303, placed.text
        assert shopper.open(placed.headers["location"]).text
    yield Drill(backup, new)


def tables_now(home: Path, manifest: Manifest) -> dict[str, object]:
    """Every table's rows and MD5 in the home's databases, as a manifest holds them."""
    with home_servers(home) as urls:
        return {
            name: asyncio.run(stats_of(urls.postgres, name))
            for name, s in manifest.services.items()
            if s.schema_revision
        }


def test_a_restored_shop_serves_the_same_orders_sessions_and_carts(drill: Drill) -> None:
    assert (drill.backup / MANIFEST).is_file()  # the drill itself is the fixture


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def truncate(backup: Path) -> None:
    dump = backup / "orders.dump"
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])


def flip_a_byte(backup: Path) -> None:
    dump = backup / "orders.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))


def newer_schema(backup: Path) -> None:
    manifest = json.loads((backup / MANIFEST).read_text())
    manifest["services"]["orders"]["schema_revision"] = "9999_from_the_future"
    (backup / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (truncate, "orders.dump: "),
        (flip_a_byte, "orders.dump: its SHA-256 differs from the manifest's"),
        (newer_schema, "orders: schema revision 9999_from_the_future is not in this code's"),
    ],
)
def test_a_damaged_backup_is_refused_and_the_target_left_untouched(
    drill: Drill, tmp_path: Path, damage: Callable[[Path], None], reason: str
) -> None:
    damaged = tmp_path / "backup"
    shutil.copytree(drill.backup, damaged)
    damage(damaged)
    env = {"MOSAIC_HOME": str(drill.restored)}
    verify = mosaic("admin", "verify-backup", str(damaged), env=env_with(env))
    assert verify.returncode == 1 and verify.stdout.startswith(reason), verify.stdout
    before = tree_digest(drill.restored)
    refused = mosaic("admin", "restore", "--from", str(damaged), "--force", env=env_with(env))
    assert refused.returncode != 0
    assert f"refusing to restore: {reason}" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert tree_digest(drill.restored) == before


def env_with(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}
