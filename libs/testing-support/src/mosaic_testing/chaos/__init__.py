"""Issue 11's chaos run: shoppers at the checkout while orders, payments, shipping and the
outbox relay are SIGKILLed, and every order checked end to end afterwards, together with
what its shopper was told. `bench/chaos_checkout.py` runs it at full size,
`tests/system/test_checkout_chaos.py` small.

- `answers`: what a page said (placed, refused with its reason, may have been placed, ...);
- `shoppers`: the shopper threads and their records;
- `kills`: the SIGKILL schedule and the runner's restarts, or `mosaic chaos` commands;
- `checks`: the orders as the services hold them, and the rules (a pure function);
- `run`: the run, the settling, the result.
"""

from mosaic_testing.chaos.kills import Chaos, Kill, Killed, rolling, schedule
from mosaic_testing.chaos.run import Result, run

__all__ = ["Chaos", "Kill", "Killed", "Result", "rolling", "run", "schedule"]
