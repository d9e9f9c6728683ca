"""Calls to the recommendations service: "You may also like" on a product page.

The block is a nicety, never a reason to fail or slow a page: the call has its own short
deadline (`RECOMMENDATIONS_TIMEOUT_MS`, 350 ms by default, well inside the page's budget),
and when recommendations is down, errs, answers off the contract or is too slow, the page
shows without the block and one warning is logged (no traceback: it is expected in operation).
"""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

from chassis import Problem, ServiceClient, context, get_logger
from chassis.client import ClientResource

from frontend.clients.answers import Answer, parsed
from frontend.clients.catalog import Product

SHOWN = 4  # one row of the product grid
BACKSTOP_SECONDS = 0.05

_log = get_logger("frontend.recommendations")


class _Recommendations(Answer):
    # A recommendation carries the fields of catalog's product that a product card shows.
    items: list[Product]


class RecommendationsClient(ClientResource):
    """What the shop asks of recommendations; also a chassis resource, like `CatalogClient`."""

    def __init__(self, http: ServiceClient, *, timeout_seconds: float) -> None:
        super().__init__(http)
        self.timeout_seconds = timeout_seconds

    async def for_product(self, product_id: str) -> list[Product]:
        """Products to suggest beside this one, best first; empty when there is no answer."""
        params = {"product_id": product_id, "limit": SHOWN}
        try:
            # The call's own deadline bounds the client's attempts and retries and travels to
            # recommendations as x-deadline; the timeout is a backstop a little after it.
            with _deadline_within(self.timeout_seconds):
                async with asyncio.timeout(self.timeout_seconds + BACKSTOP_SECONDS):
                    response = await self.http.request("GET", "/v1/recommendations", params=params)
            if not response.ok:
                raise _Unanswered(f"answered {response.status}")
            return parsed(_Recommendations, response, _Unanswered).items[:SHOWN]
        except TimeoutError:
            reason = f"no answer within {int(self.timeout_seconds * 1000)} ms"
        except (Problem, _Unanswered) as error:  # down, failing, or off the contract
            reason = str(error)
        _log.warning("recommendations left out", product_id=product_id, reason=reason)
        return []


class _Unanswered(Exception):
    pass


@contextmanager
def _deadline_within(seconds: float) -> Iterator[None]:
    """The request's deadline, shortened to `seconds` from now for the calls inside."""
    current = context.deadline.get()
    token = context.deadline.set(min(current or float("inf"), time.time() + seconds))
    try:
        yield
    finally:
        context.deadline.reset(token)
