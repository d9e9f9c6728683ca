"""Placing an order: the checkout's Idempotency-Key, its saga, and the answer.

The first request with a key creates the order (an INSERT on a unique index: concurrent
duplicates wait on the index, and then find it) and drives the saga. A repeat with the same
key and body gets that order's answer: at once if the saga has ended, else after waiting for
it (bounded); if the first driver died, the repeat takes its expired lease and drives the
saga on itself, with the card it was sent again. The same key with another body is 422.

The saga runs in a task of its own, shielded from the request: a client that hangs up
does not stop a charge half-way; the lease and the recovery cover a process that dies.
"""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from chassis import context, get_logger

from orders import keys
from orders.domain import Order, Owner
from orders.lease import heartbeat
from orders.ports import Card, OwnerProof, Upstream
from orders.problems import KeyReused
from orders.saga import Saga
from orders.schemas import CheckoutIn
from orders.store import NewOrder, Store

_log = get_logger("orders.checkout")
POLL_SECONDS = 0.2
MARGIN_SECONDS = 0.5  # answered this long before the caller's deadline, to be heard


@dataclass(frozen=True, slots=True)
class Placed:
    order: Order
    token: str  # the guest link's token, unsealed with the key
    replayed: bool


class Checkout:
    """A resource: the drives of this process's live checkouts, finished or awaited on close."""

    name = "checkout"

    def __init__(
        self,
        upstream: Upstream,
        *,
        saga_seconds: float,
        wait_seconds: float,
        settle_seconds: float,
        stores: Callable[[Store], Store] | None = None,
    ) -> None:
        self.upstream = upstream
        self.saga_seconds = saga_seconds
        self.wait_seconds = wait_seconds
        self.settle_seconds = settle_seconds
        self.stores = stores  # the test hook's seam (`crash.py`): the store as it drives it
        self._drives: set[asyncio.Task[Order]] = set()

    async def open(self) -> None:
        pass

    async def ping(self) -> None:
        pass

    async def close(self) -> None:
        # In-flight sagas end their current step (each is bounded by the saga's deadline);
        # what is left is the recovery's.
        if self._drives:
            await asyncio.wait(self._drives, timeout=self.saga_seconds)

    async def place(
        self, store: Store, owner: Owner, key: str, form: CheckoutIn, proof: OwnerProof
    ) -> Placed:
        store = self.stores(store) if self.stores else store
        holder = str(uuid.uuid4())
        order_id = str(uuid.uuid4())
        token = keys.new_token()
        fingerprint = keys.fingerprint(key, form.canonical())
        draft = Order(
            id=order_id,
            owner=owner,
            email=form.email,
            currency=form.currency,
            shipping_option=form.shipping_option,
            address=form.address.address(),
            status_token=token,
            given_name=form.given_name,
        )
        claim = await store.claim(
            NewOrder(
                draft,
                keys.key_hash(owner, key),
                fingerprint,
                keys.token_hash(token),
                keys.seal(token, key, order_id),
            ),
            holder,
        )
        if not hmac.compare_digest(claim.fingerprint, fingerprint):
            raise KeyReused
        token = keys.unseal(claim.sealed_token, key, claim.order.id)
        card = form.card.card()
        # The token is stored only hashed and sealed: the drive carries it for the events.
        claimed = replace(claim.order, status_token=token)
        if claim.created:
            order = await self._drive(store, claimed, holder, card, proof)
        else:
            order = await self._await(store, claimed, holder, card, proof)
        return Placed(order, token, replayed=not claim.created)

    async def _await(
        self, store: Store, order: Order, holder: str, card: Card, proof: OwnerProof
    ) -> Order:
        """A repeat: the saga's end, waited for; or the saga itself, if its driver died."""
        until = time.time() + min(self.wait_seconds, _left() - MARGIN_SECONDS)
        while not order.ended:
            taken = await store.take_lease(order.id, holder)
            if taken is not None:
                _log.info("taking over a checkout", order_id=order.id, step=taken.step)
                taken = replace(taken, status_token=order.status_token)
                return await self._drive(store, taken, holder, card, proof)
            if time.time() + POLL_SECONDS > until:
                break
            await asyncio.sleep(POLL_SECONDS)
            found = await store.existing(order.id)
            order = replace(found, status_token=order.status_token)
        return order

    async def _drive(
        self, store: Store, order: Order, holder: str, card: Card, proof: OwnerProof
    ) -> Order:
        saga = Saga(
            store,
            self.upstream,
            holder=holder,
            settle_seconds=self.settle_seconds,
        )

        async def drive() -> Order:
            deadline = time.time() + self.saga_seconds
            context.deadline.set(deadline)  # this task's calls: the saga's own deadline
            async with heartbeat(store, order.id, holder):
                return await saga.run(order, deadline=deadline, card=card, proof=proof)

        task = asyncio.create_task(drive())
        self._drives.add(task)
        task.add_done_callback(self._drives.discard)
        try:
            return await asyncio.wait_for(asyncio.shield(task), _left() - MARGIN_SECONDS)
        except TimeoutError:
            # The caller's deadline comes first: answer where the order stands (202).
            return await store.existing(order.id)


def _left() -> float:
    remaining = context.remaining_seconds()
    return remaining if remaining is not None else 30.0
