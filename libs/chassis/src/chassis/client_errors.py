"""What a call to another service raises: the callee down, too slow, or refusing."""

from __future__ import annotations

from typing import Any

from chassis.client_response import Response, problem_type
from chassis.errors import Problem


class UpstreamUnavailable(Problem):
    """The callee could not be reached or failed (after retries, within the deadline)."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(
            503,
            "upstream-unavailable",
            f"The {service} service is unavailable right now ({reason}); try again shortly.",
            service=service,
        )
        self.service = service
        self.reason = reason


class UpstreamTimeout(Problem):
    """The deadline passed before the callee answered."""

    def __init__(self, service: str) -> None:
        super().__init__(
            504,
            "upstream-timeout",
            f"The {service} service did not answer within the request's deadline.",
            service=service,
        )
        self.service = service


class UpstreamStatusError(Problem):
    """The callee answered with a 4xx the caller did not expect."""

    def __init__(self, service: str, status: int, problem: dict[str, Any]) -> None:
        detail = str(problem.get("detail") or f"{service} answered {status}")
        super().__init__(502, "upstream-rejected", detail, service=service, upstream_status=status)
        self.service = service
        self.upstream_status = status
        self.problem = problem

    @property
    def problem_type(self) -> str:
        """The slug of the callee's problem (`cart-not-found`), or ""."""
        return problem_type(self.problem)


class Retryable(Exception):
    """One attempt failed in a way that says nothing was done, or that it may be done again:
    `reason` in the network client's words, and the answer when there was one (502/503/504)."""

    def __init__(self, reason: str, response: Response | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response
