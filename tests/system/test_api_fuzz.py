"""Every internal API fuzzed from its committed contract (schemathesis), as its callers reach
it: real service processes of one `mosaic up` (real Postgres and Valkey), over mTLS, each
request signed as a caller the route allows and, where the contract asks for one, with a
signed-in user's access token. Valid and invalid requests, a fixed seed, a bounded number
of examples per operation. Each answer must be no 5xx, documented (status, media type,
headers) and inside its schema, and invalid input must be refused with a 4xx."""

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from mosaic.ports import free_port
from mosaic.state import served_by
from mosaic_testing import Shopper, UpProcess
from mosaic_testing.apis import (
    INTERNAL_APIS,
    allowed_caller,
    caller_session,
    contract_path,
    tls_arguments,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation

pytestmark = pytest.mark.system

PASSWORD = "nine copper lanterns over the harbour"
# Examples per operation and generation mode: 54 operations, ~3,400 requests in 1.5 min.
EXAMPLES = 20
HEADER = ParameterLocation.HEADER

# Every check of schemathesis but two:
# - that each request valid by the schema is accepted: some rules no JSON schema says are
#   checked by the services and answered with a documented 422 problem (an address that is
#   the browser's IP in `x-client-address`, currencies offered, a product once per cart or
#   quote, a shipping option by name, a read-only id);
# - that the user's token is enforced (`ignored_auth`): its probes go out without the
#   session, so without the service token too, and are refused for that (401) whatever
#   the route does with users. The authorization matrix (test_authorization_matrix.py)
#   proves who gets what, owner, other user, anonymous and wrong service.
NOT_CHECKED = [schemathesis.checks.positive_data_acceptance, schemathesis.checks.ignored_auth]
# Input the schema forbids may also be refused before any route sees it, by the limits every
# service keeps (413 a body, 414 a request target, 431 headers: chassis.limits and
# chassis.server_limits, each documented in the contracts): a refusal as good as a 422.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413",
                                      "414", "415", "422", "428", "429", "431", "5xx"],
            }
        }
    }
)  # fmt: skip


@dataclass
class Shop:
    up: UpProcess
    home: Path
    email: str
    _ports: dict[str, int] = field(default_factory=dict)
    _sessions: dict[tuple[str, str], requests.Session] = field(default_factory=dict)
    _user_token: str | None = None

    def base_url(self, service: str) -> str:
        if not self._ports:
            for entry in served_by(self.up.status()):
                if entry.get("service") and entry.get("port"):
                    self._ports.setdefault(entry["service"], entry["port"])
        return f"https://127.0.0.1:{self._ports[service]}"

    def session(self, service: str, caller: str) -> requests.Session:
        key = (service, caller)
        if key not in self._sessions:
            self._sessions[key] = caller_session(self.home, service, caller)
        return self._sessions[key]

    def user_token(self) -> str:
        """The access token of the shop's one signed-in user, signing in again once a
        request may have ended its session (sign-out, a password change)."""
        if self._user_token is None:
            accounts = self.session("accounts", "frontend")
            signed_in = accounts.post(
                self.base_url("accounts") + "/v1/sessions",
                json={"email": self.email, "password": PASSWORD},
                headers={"x-client-address": "127.0.0.1"},
                timeout=30,
            )
            assert signed_in.status_code == 201, signed_in.text
            self._user_token = str(signed_in.json()["access_token"]["token"])
        return self._user_token

    def forget_user_token(self) -> None:
        self._user_token = None

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    home = tmp_path_factory.mktemp("api-fuzz") / "home"
    with UpProcess(home, free_port()) as up:
        url = up.wait_ready(timeout=180)
        email = f"fuzz-{uuid.uuid4().hex[:10]}@example.com"
        with Shopper(url) as shopper:
            shopper.sign_up("Fay Fuzz", email, PASSWORD, mail=up.mail)
        shop = Shop(up, home, email)
        try:
            yield shop
        finally:
            shop.close()


def reaches_another_route(case: schemathesis.Case) -> bool:
    """A method the path does not have (sent to see a 405) that another route of the same
    API answers, its template matching the path too: `GET /v1/carts/merge` is
    `GET /v1/carts/{cart_id}` with the id `merge`, a 422 as for any malformed id, which the
    other route's own cases check."""
    paths: dict[str, dict[str, Any]] = case.operation.schema.raw_schema["paths"]
    method = case.method.lower()
    if method in paths[case.path]:
        return False
    return any(
        method in operations and re.fullmatch(path_pattern(template), case.formatted_path)
        for template, operations in paths.items()
        if template != case.path
    )


def path_pattern(template: str) -> str:
    """A regular expression of the paths a template matches (`{name}`: one segment)."""
    parts = re.split(r"(\{[^}]+\})", template)
    return "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)


def fuzzed(service: str) -> Callable[..., None]:
    schema = schemathesis.openapi.from_path(contract_path(service), config=CONFIG)

    @schema.parametrize()
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # a fixed seed: the same cases on every run
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def test(case: schemathesis.Case, shop: Shop) -> None:
        caller = allowed_caller(service, case.method, case.path)
        headers: dict[str, Any] = {}
        # The user's token where the contract asks for one, unless the case is about bad
        # headers (it may be one without the token, or with a wrong one, on purpose).
        negative_headers = case.meta is not None and case.meta.is_negative_at(HEADER)
        if case.operation.definition.raw.get("security") and not negative_headers:
            headers["authorization"] = f"Bearer {shop.user_token()}"
        response = case.call(
            base_url=shop.base_url(service),
            session=shop.session(service, caller),
            headers=headers,
            timeout=30,
            **tls_arguments(shop.home, caller),
        )
        if service == "accounts" and case.method != "GET" and response.status_code < 300:
            shop.forget_user_token()  # a sign-out or a new password ends the user's sessions
        if reaches_another_route(case):
            assert response.status_code < 500, response.text
            return
        case.validate_response(response, headers=headers, excluded_checks=NOT_CHECKED)

    test.__name__ = f"test_{service}_answers_every_request_as_its_contract_says"
    return test


for _service in INTERNAL_APIS:
    _test = fuzzed(_service)
    globals()[_test.__name__] = _test
del _service, _test
