"""`mosaic up` as a subprocess, for tests of the runner and of the whole system."""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Generator, Mapping
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mosaic.log_files import log_files, logs_folder
from mosaic.pki import TOKEN_HEADER, Pki, client_ssl_context, load_signing_key, sign_token
from mosaic.ports import free_port
from mosaic.state import served_by


def mosaic(
    *args: str, env: Mapping[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run one `mosaic` command to completion with this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "mosaic", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# How a system test can run the shop: as separate processes (the normal mode), or with every
# service in one process (`mosaic up --in-process`, the benchmark's floor). Tests that hold
# in both parametrize their module's shop with `params=MODES` and start it with
# `UpProcess(home, port, *up_args(request.param))`.
MODES = ("processes", "in-process")


def up_args(mode: str) -> tuple[str, ...]:
    """The `mosaic up` arguments of a mode in MODES."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    return ("--in-process",) if mode == "in-process" else ()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll check() until it holds; fail the test with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.1)


def holds_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll check() for `seconds`; fail the test with `what` the first time it does not hold.
    For what must stay true (no second e-mail) over a window something could break it in."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not check():
            raise AssertionError(f"no longer holds: {what}")
        time.sleep(0.1)
    if not check():
        raise AssertionError(f"no longer holds: {what}")


def trace_of_request(home: Path, request_id: str) -> str:
    """The trace id a process of `mosaic up --home home` logged for the request `request_id`
    (its x-request-id), waited for: a process's lines reach its file a moment after."""
    found: list[str] = []

    def logged() -> bool:
        for paths in log_files(logs_folder(home)).values():
            for path in paths:
                for line in path.read_text().splitlines():
                    record = json.loads(line)
                    if record.get("request_id") == request_id and record.get("trace_id"):
                        found.append(record["trace_id"])
                        return True
        return False

    wait_until(logged, 30, f"a log line of request {request_id}")
    return found[0]


# notifications hands an event it took but did not acknowledge (its handler failed, or the
# ack was lost) to a consumer again once it has been pending RETRY_AFTER_SECONDS (30 s by
# default), looking every half of that. A test counting e-mails starts the shop with
# FAST_REDELIVERY and counts over REDELIVERY_WINDOW: any redelivered event has been handled
# again by then, so a duplicate e-mail it would send has arrived.
REDELIVERY_SECONDS = 2
FAST_REDELIVERY = {"RETRY_AFTER_SECONDS": str(REDELIVERY_SECONDS)}
REDELIVERY_WINDOW = 3 * REDELIVERY_SECONDS + 4  # pending + the next look + handling, sending
# The path of an address-verification link in a mail from notifications.
VERIFY_LINK = re.compile(r"https?://[^\s\"'<>]+?(/verify-email/[A-Za-z0-9_-]+)")
Mail = Callable[[], list[dict[str, Any]]]


def verification_link(mail: Mail, email: str, timeout: float = 60, *, after: str = "") -> str:
    """The path of the newest address-verification link mailed to `email` (waits for its
    mail; `after`: a link to skip, e.g. one used already). `mail`: `UpProcess.mail`."""
    found: list[str] = []

    def arrived() -> bool:
        for message in mail():  # newest first
            link = VERIFY_LINK.search(message.get("text") or "")
            if email in message["to"] and link and link[1] != after:
                found.append(link[1])
                return True
        return False

    wait_until(arrived, timeout, f"a verification link mailed to {email}")
    return found[0]


class UpProcess:
    """A `mosaic up --port PORT` on `home`; its output is collected line by line."""

    def __init__(
        self, home: Path, port: int, *args: str, extra_env: Mapping[str, str] | None = None
    ) -> None:
        self.env = {**os.environ, "MOSAIC_HOME": str(home), **(extra_env or {})}
        self.argv = [sys.executable, "-m", "mosaic", "up", "--port", str(port), *args]
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process: subprocess.Popen[str] | None = None
        self._mailbox: str | None = None  # the dev mailbox's URL, once asked for

    def start(self) -> Self:
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a Ctrl-C on the test run reaches pytest only
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> str:
        """The first output line containing text; fails if `up` exits or times out first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                assert self.process is not None
                left = deadline - time.monotonic()
                if self.process.poll() is not None or left <= 0:
                    why = (
                        "exited" if self.process.poll() is not None else f"took over {timeout:g} s"
                    )
                    raise AssertionError(f"mosaic up {why} before {text!r}:\n{self.output_tail()}")
                self._changed.wait(min(left, 0.5))

    def wait_for_line(
        self, matches: Callable[[str], bool], timeout: float, what: str, *, after: int = 0
    ) -> str:
        """The first output line from line `after` on (e.g. `len(up.lines)` before a step:
        what was logged earlier proves nothing about it) for which matches(line) holds;
        fails with `what` after timeout seconds (or once `up` has exited without one)."""
        deadline, seen = time.monotonic() + timeout, after
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if matches(line):
                        return line
                seen = len(self.lines)
                assert self.process is not None
                left = deadline - time.monotonic()
                if self.process.poll() is not None or left <= 0:
                    raise AssertionError(f"not within {timeout:g} s: {what}")
                self._changed.wait(min(left, 0.5))

    def wait_ready(self, timeout: float = 60) -> str:
        return self.wait_for("Mosaic is ready: ", timeout).split(": ", 1)[1]

    def status(self) -> dict[str, Any]:
        result = mosaic("status", "--json", env=self.env)
        try:
            data: dict[str, Any] = json.loads(result.stdout)
        except ValueError:
            raise AssertionError(f"mosaic status --json failed: {result}") from None
        return data

    def processes(self) -> dict[str, dict[str, Any]]:
        """Processes by name (postgres, valkey, catalog.web.1, ...) from `mosaic status`."""
        return {p["name"]: p for p in self.status().get("processes", [])}

    def client(self, service: str, caller: str = "admin", timeout: float = 30) -> httpx.Client:
        """An HTTP client of `service`'s API as `caller` (default the operator), over mTLS
        with a fresh service token per request; see `service_client`."""
        served = served_by(self.status())
        port = next(p["port"] for p in served if p.get("service") == service and p.get("port"))
        return service_client(Path(self.env["MOSAIC_HOME"]), service, port, caller=caller,
                              timeout=timeout)  # fmt: skip

    def mail(self) -> list[dict[str, Any]]:
        """Every message in the dev mailbox (`/messages.json`), newest first: id, to,
        subject, message_id, text, html, ..."""
        if self._mailbox is None:
            self._mailbox = self.status().get("mailbox")
        assert self._mailbox, "this `mosaic up` runs no dev mailbox (no service has backing smtp)"
        response = httpx.get(f"{self._mailbox}/messages.json", timeout=10)
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def run_job(self, service: str, job: str, timeout: float = 120) -> str:
        """`mosaic admin run SERVICE JOB`: one run now; its output (fails if it failed)."""
        result = mosaic("admin", "run", service, job, env=self.env, timeout=timeout)
        assert result.returncode == 0, f"{service} {job} failed:\n{result.stdout}{result.stderr}"
        return result.stdout + result.stderr

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as `mosaic down` sends; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def output_tail(self, lines: int = 60) -> str:
        with self._changed:
            return "\n".join(self.lines[-lines:])

    def __enter__(self) -> Self:
        return self.start() if self.process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.stop(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.process.stdout as output:
            for line in output:
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()


# --- Calling the shop's services as one of them, and driving its pages ---------------------
# For system tests that check invariants across services (a charge at payments, a shipment
# at shipping) and for tests that place orders as the frontend does.


class ServiceToken(httpx.Auth):
    """A fresh service token on every request, signed as `issuer` for `audience` (tokens
    live a minute, and a service may refuse a token it has seen)."""

    def __init__(self, key: Ed25519PrivateKey, issuer: str, audience: str) -> None:
        self.key, self.issuer, self.audience = key, issuer, audience

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[TOKEN_HEADER] = sign_token(
            self.key, issuer=self.issuer, audience=self.audience
        )
        yield request


def service_client(
    home: Path, service: str, port: int, *, caller: str, timeout: float = 30
) -> httpx.Client:
    """An HTTP client of `service` (its API `port`) as `caller` (a service, or "admin", the
    operator): mTLS with the caller's certificate and a service token per request, as
    `mosaic admin call` does. Close it (a `with` block) when done."""
    pki = Pki.of(home)
    files = pki.service(caller)
    return httpx.Client(
        base_url=f"https://127.0.0.1:{port}",
        verify=client_ssl_context(pki.ca_cert, files.cert, files.key),
        auth=ServiceToken(load_signing_key(files.signing_key), caller, service),
        timeout=timeout,
    )


def process_environment(pid: int) -> dict[str, str]:
    """The environment a running process was started with (Linux /proc): how a test starts a
    process of its own exactly as the runner started one of a service's."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (entry.split(b"=", 1) for entry in raw.split(b"\0") if b"=" in entry)
    return {name.decode(): value.decode() for name, value in pairs}


class ServiceProcess:
    """A service process of a test's own (`python -m <module>`) on free ports, started with
    `env` (as a rule the runner's environment for one of the service's, from
    `process_environment`, plus what the test changes), ready once its /readyz answers; its
    output in `log`."""

    def __init__(self, module: str, env: Mapping[str, str], log: Path, timeout: float = 90):
        self.port, self.ops = free_port(), free_port()
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module],
                env={**env, "PORT": str(self.port), "OPS_PORT": str(self.ops)},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready() -> bool:
            assert self.process.poll() is None, self.output()
            try:
                return httpx.get(f"http://127.0.0.1:{self.ops}/readyz", timeout=2).is_success
            except httpx.HTTPError:
                return False

        try:
            wait_until(ready, timeout, f"{module} is ready")
        except BaseException:
            self.stop()
            raise

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def logged(self, event: str) -> list[dict[str, Any]]:
        """Its JSON log lines for `event`, in order."""
        found = []
        for line in self.output().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == event:
                found.append(entry)
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


class Forms(HTMLParser):
    """What a test reads of a shop page, by structure rather than exact markup: each form's
    fields by action (hidden inputs with their values, radio groups with their choices), the
    links and stylesheets, the selected option of each select, the page's text, and the
    header's cart count and signed-in name. `html` is the markup as served."""

    MARKED = ("cart-count", "account-nav__name")  # classes whose text the header shows

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html = html
        self.hidden: dict[str, dict[str, str]] = {}
        self.radios: dict[str, dict[str, list[str]]] = {}
        self.links: list[str] = []
        self.stylesheets: list[str] = []
        self.selected: dict[str, str] = {}  # select id -> chosen value
        self._action: str | None = None
        self._text: list[str] = []
        self._skip = 0
        self._select = ""
        self._marking: str | None = None
        self._marked: dict[str, str] = {}
        self.feed(html)
        self.close()

    @property
    def text(self) -> str:
        """The visible text, whitespace collapsed."""
        return " ".join(" ".join(self._text).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self._marking = next((c for c in found.get("class", "").split() if c in self.MARKED), None)
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "form":
            self._action = found.get("action", "")
            self.hidden.setdefault(self._action, {})
            self.radios.setdefault(self._action, {})
        elif tag == "input" and self._action is not None:
            name = found.get("name", "")
            if found.get("type") == "hidden":
                self.hidden[self._action].setdefault(name, found.get("value", ""))
            elif found.get("type") == "radio":
                self.radios[self._action].setdefault(name, []).append(found.get("value", ""))
        elif tag == "a" and "href" in found:
            self.links.append(found["href"])
        elif tag == "link" and found.get("rel") == "stylesheet":
            self.stylesheets.append(found["href"])
        elif tag == "select":
            self._select = found.get("id", found.get("name", ""))
        elif tag == "option" and "selected" in found:
            self.selected[self._select] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        self._marking = None
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "form":
            self._action = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._text.append(data)
        if self._marking is not None:
            self._marked[self._marking] = self._marked.get(self._marking, "") + data

    def form(self, action: str) -> dict[str, str]:
        """The hidden fields of the form posting to `action` (its CSRF token, ...)."""
        assert action in self.hidden, f"no form posting to {action} on the page"
        return dict(self.hidden[action])

    def actions(self, pattern: str) -> list[str]:
        """The first group of `pattern` in each form action it matches in full, in page
        order: `actions(r"/cart/items/([^/]+)/remove")` is the cart's product ids."""
        return [m[1] for action in self.hidden if (m := re.fullmatch(pattern, action))]

    def products(self) -> list[str]:
        """The ids of the products the page links to, each once, in page order."""
        ids = (h.removeprefix("/product/") for h in self.links if h.startswith("/product/"))
        return list(dict.fromkeys(ids))

    def cart_lines(self) -> list[str]:
        """The product ids of the cart page's lines (their remove forms), sorted."""
        return sorted(self.actions(r"/cart/items/([^/]+)/remove"))

    @property
    def cart_count(self) -> int:
        count = self._marked.get("cart-count", "").strip().strip("()")
        assert count.isdecimal(), "every page shows the cart's item count"
        return int(count)

    @property
    def signed_in_as(self) -> str | None:
        """The signed-in name in the header; None when nobody is signed in."""
        name = self._marked.get("account-nav__name")
        return name.strip() if name is not None else None


TEST_CARD = "4242 4242 4242 4242"  # Stripe's test Visa: succeeds
CHECKOUT_ADDRESS = {
    "name": "Ada Lovelace", "line1": "Unter den Linden 1", "line2": "", "city": "Berlin",
    "postal_code": "10117", "country": "DE",
}  # fmt: skip


class Shopper:
    """One shopper at the shop's pages, as a browser without JavaScript: own cookies, forms
    posted with their hidden fields (CSRF token, the checkout's Idempotency-Key), redirects
    left for the test to see. Close it (a `with` block) when done."""

    def __init__(self, url: str, timeout: float = 60) -> None:
        self.http = httpx.Client(base_url=url, timeout=timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def open(self, path: str) -> Forms:
        response = self.http.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        return Forms(response.text)

    def submit(self, path: str, action: str, **fields: str) -> httpx.Response:
        """Open the page, then post its form: its hidden fields plus `fields`."""
        return self.http.post(action, data={**self.open(path).form(action), **fields})

    def products(self) -> list[str]:
        links = self.open("/").links
        found = (h.removeprefix("/product/") for h in links if h.startswith("/product/"))
        return list(dict.fromkeys(found))

    def add_to_cart(self, product: str, quantity: int = 1) -> None:
        added = self.submit(f"/product/{product}", "/cart/items", quantity=str(quantity))
        assert added.status_code == 303, added.text

    def sign_up(self, name: str, email: str, password: str, *, mail: Mail) -> None:
        """Sign up, then open the link mailed to the address and confirm: signed in.
        `mail` reads the dev mailbox (`UpProcess.mail`)."""
        answer = self.submit("/sign-up", "/sign-up", name=name, email=email, password=password)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/sign-up/check-email", answer.headers
        self.confirm(verification_link(mail, email), password)

    def confirm(self, link: str, password: str) -> httpx.Response:
        """Open a verification link, enter the sign-up's password and press its button, as
        its owner would."""
        confirmed = self.submit(link, "/verify-email", password=password)
        assert confirmed.status_code == 303, confirmed.text
        return confirmed

    def checkout_form(self) -> dict[str, str]:
        """A fresh checkout form's hidden fields (its own Idempotency-Key) and a delivery
        address, a delivery option and a card that succeeds: override what a test needs."""
        page = self.open("/checkout")
        return {
            **page.form("/checkout"),
            "email": "ada@example.com",
            "saved_address": "new",
            **CHECKOUT_ADDRESS,
            "shipping_option": "standard",
            "card_number": TEST_CARD,
            "exp_month": "12",
            "exp_year": str(time.gmtime().tm_year + 3),
            "card_cvc": "123",
        }

    def place_order(self, form: Mapping[str, str]) -> httpx.Response:
        return self.http.post("/checkout", data=dict(form))


class Guest:
    """An anonymous visitor's cart and checkout, placed as the frontend places them for a
    visitor: cart and orders called as `frontend` with the visitor's id (`x-visitor-id`).
    `cart` and `orders` are clients as the frontend (`UpProcess.client(..., "frontend")`)."""

    def __init__(self, cart: httpx.Client, orders: httpx.Client, visitor: str | None = None):
        self.cart, self.orders = cart, orders
        self.visitor = visitor or secrets.token_urlsafe(24)
        self.headers = {"x-visitor-id": self.visitor}

    def fill_cart(self, items: Mapping[str, int]) -> str:
        """Put `items` (product id -> units) into the visitor's cart; the cart's id."""
        opened = self.cart.post("/v1/carts", headers=self.headers)
        assert opened.status_code in (200, 201), opened.text
        cart_id: str = opened.json()["id"]
        for product, quantity in items.items():
            added = self.cart.post(
                f"/v1/carts/{cart_id}/items",
                headers=self.headers,
                json={"product_id": product, "quantity": quantity},
            )
            assert added.status_code == 200, added.text
        return cart_id

    def cart_lines(self) -> dict[str, int]:
        """What the visitor's cart holds now (product id -> units); {} without a cart."""
        found = self.cart.get("/v1/carts/current", headers=self.headers)
        if found.status_code == 404:
            return {}
        assert found.status_code == 200, found.text
        return {line["product_id"]: line["quantity"] for line in found.json()["lines"]}

    @staticmethod
    def checkout(
        email: str, card: str = TEST_CARD, currency: str = "USD", option: str = "standard"
    ) -> dict[str, Any]:
        """A checkout body for orders: delivery to Berlin, the card expiring in 3 years."""
        address = {name: value for name, value in CHECKOUT_ADDRESS.items() if value}
        expiry = {"exp_month": 12, "exp_year": time.gmtime().tm_year + 3, "cvc": "123"}
        return {
            "email": email,
            "currency": currency,
            "shipping_option": option,
            "address": address,
            "card": {"number": card, **expiry},
        }

    def place(self, body: Mapping[str, Any], key: str | None = None) -> httpx.Response:
        """POST /v1/orders with the Idempotency-Key `key` (a fresh one by default)."""
        headers = {**self.headers, "idempotency-key": key or secrets.token_urlsafe(24)}
        return self.orders.post("/v1/orders", headers=headers, json=dict(body))

    def order(self, order_id: str) -> dict[str, Any]:
        found = self.orders.get(f"/v1/orders/{order_id}", headers=self.headers)
        assert found.status_code == 200, found.text
        order: dict[str, Any] = found.json()
        return order
