"""The flows a shopper can perform, and the mix of them a run drives (no I/O here).

The anonymous mix is Online Boutique's load generator's: browse a product 10, view the
cart 3, set the currency 2, add to cart 2, the home page 1, check out 1. Signed-in shoppers
do the same, plus viewing their order history 2 and signing in again 1; one user in ten is
one (the 2nd, 12th, 22nd, ... user, so any run of two or more users has one).
"""

from collections.abc import Mapping
from types import MappingProxyType

SHOPPING: Mapping[str, int] = MappingProxyType(
    {"browse": 10, "cart": 3, "currency": 2, "add": 2, "home": 1, "checkout": 1}
)
SIGNED_IN_SHOPPING: Mapping[str, int] = MappingProxyType({**SHOPPING, "history": 2, "sign_in": 1})
# A flow a single-flow run can ask for; `history` and `profile` are a signed-in shopper's;
# `sign_up` makes a new account each time (not in the mix: the shop's registrations are few).
SINGLE_FLOWS = ("home", "browse", "cart", "currency", "add", "checkout", "history", "profile",
                "sign_up")  # fmt: skip
NEEDS_ACCOUNT = frozenset({"history", "sign_in", "profile"})
MIX = "mix"
ONE_IN = 10  # one user in ten is signed in, in the mix


def signed_in_users(users: int) -> int:
    """How many of a mix's `users` are signed in: those numbered 1, 11, 21, ... from 0."""
    return (users + ONE_IN - 2) // ONE_IN


def weights_of(flow: str, signed_in: bool) -> Mapping[str, int]:
    """The flows a user of this run picks from, with their weights."""
    if flow == MIX:
        return SIGNED_IN_SHOPPING if signed_in else SHOPPING
    if flow not in SINGLE_FLOWS:
        raise ValueError(f"no such flow: {flow}")
    return MappingProxyType({flow: 1})


def mix_shares(flow: str, users: int) -> dict[str, float]:
    """The share of each flow among a run's actions, users picked alike: what an arrival
    would have been, for the record of one dropped in an open-loop run."""
    if flow != MIX:
        return {flow: 1.0}
    signed = signed_in_users(users) / users
    shares: dict[str, float] = {}
    for weights, share in ((SHOPPING, 1 - signed), (SIGNED_IN_SHOPPING, signed)):
        total = sum(weights.values())
        for name, weight in weights.items():
            shares[name] = shares.get(name, 0.0) + share * weight / total
    return shares
