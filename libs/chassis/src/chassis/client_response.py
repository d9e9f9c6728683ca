"""A callee's answer, as every transport hands it to `ServiceClient`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def problem(self) -> dict[str, Any]:
        """The answer as problem details; an answer that is not a JSON object becomes the
        `detail` (its first 200 bytes) of one."""
        try:
            data = self.json()
        except orjson.JSONDecodeError:
            return {"detail": self.body[:200].decode("utf-8", "replace")}
        return data if isinstance(data, dict) else {"detail": str(data)}

    def json_object(self) -> dict[str, Any]:
        """The answer's JSON object (e.g. a refusal's problem+json body, as the callee sent
        it); empty when the body is not a JSON object."""
        try:
            data = self.json()
        except orjson.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def problem_type(self) -> str:
        """The problem's slug (`cart-not-found`), or "" when the answer names none."""
        return problem_type(self.problem())


def problem_type(problem: Any) -> str:
    """The slug at the end of a problem's `type` URI (`.../problems/cart-not-found` gives
    `cart-not-found`); "" when `problem` is not a problem object or has no type."""
    if not isinstance(problem, Mapping):
        return ""
    return str(problem.get("type", "")).rsplit("/", 1)[-1]


def retry_after(response: Response | None) -> float | None:
    """The seconds a 503's `Retry-After` asks for (its delay form; a date is not used
    between our services), or None when there is none."""
    if response is None or response.status != 503:
        return None
    value = response.headers.get("retry-after", "")
    if not value.isdigit():
        return None
    return float(value)
