"""What backups cost (issue 17 item 4): backup and restore seconds and sizes for the seeded
shop plus N orders, and the recovery time: restore plus `mosaic up` until ready.

Run: .venv/bin/python bench/backup_cost.py [--orders 1000] [--threads 4]

Starts `mosaic up` on a new temporary home and free ports, places the orders through orders'
API as the frontend does for a guest (`mosaic_testing.Guest`: a cart of one product, then
POST /v1/orders, a full saga each: payment, shipment, outbox event, e-mail), waits for the
outbox to drain, then times `mosaic admin backup` against the running shop, `mosaic down`,
`mosaic admin restore` into a second new home (given the first's secrets.json and pki/, as
an operator keeps them), and `mosaic up` there until "Mosaic is ready". Prints JSON.
"""

import argparse
import json
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mosaic.ports import free_port
from mosaic_testing import Guest, Shopper, UpProcess, mosaic


def up_on(home: Path) -> UpProcess:
    ports = ("--mail-port", str(free_port()), "--dashboard-port", str(free_port()))
    return UpProcess(home, free_port(), *ports)


def place(up: UpProcess, product: str, count: int) -> None:
    with up.client("cart", "frontend") as cart, up.client("orders", "frontend") as orders:
        for _ in range(count):
            guest = Guest(cart, orders)
            guest.fill_cart({product: 1})
            answer = guest.place(Guest.checkout("guest@example.com"))
            assert answer.status_code in (200, 201, 202), answer.text


def timed(*args: str, env: dict[str, str]) -> float:
    began = time.monotonic()
    done = mosaic(*args, env=env, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="backup-cost-"))
    old, new, backup = base / "old", base / "new", base / "backup"
    figures: dict[str, float] = {"orders": options.orders}
    try:
        with up_on(old) as up:
            url = up.wait_ready(timeout=300)
            with Shopper(url) as shopper:
                product = shopper.products()[0]
            began = time.monotonic()
            share = [options.orders // options.threads] * options.threads
            share[0] += options.orders % options.threads
            with ThreadPoolExecutor(options.threads) as pool:
                list(pool.map(lambda n: place(up, product, n), share))
            figures["placing_s"] = time.monotonic() - began
            time.sleep(5)  # the outbox relay and e-mails settle
            figures["backup_s"] = timed("admin", "backup", "--to", str(backup), env=up.env)
        sizes = {p.name: p.stat().st_size for p in backup.iterdir()}
        figures["backup_bytes"] = sum(sizes.values())
        new.mkdir()
        shutil.copy2(old / "secrets.json", new / "secrets.json")
        shutil.copytree(old / "pki", new / "pki")
        env = {**up.env, "MOSAIC_HOME": str(new)}
        figures["restore_s"] = timed("admin", "restore", "--from", str(backup), env=env)
        began = time.monotonic()
        with up_on(new) as again:
            again.wait_ready(timeout=300)
            figures["up_after_restore_s"] = time.monotonic() - began
        manifest = json.loads((backup / "manifest.json").read_text())
        rows = {
            f"{name}.{table}": t["rows"]
            for name, s in manifest["services"].items()
            for table, t in s["tables"].items()
        }
        print(json.dumps({"figures": figures, "sizes": sizes, "rows": rows}, indent=2))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
