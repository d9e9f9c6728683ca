"""The mix: Online Boutique's proportions, and one signed-in user in ten."""

import pytest
from loadgen.flows import (
    NEEDS_ACCOUNT,
    SHOPPING,
    SIGNED_IN_SHOPPING,
    SINGLE_FLOWS,
    mix_shares,
    signed_in_users,
    weights_of,
)


def test_the_anonymous_mix_is_online_boutiques() -> None:
    assert dict(SHOPPING) == {
        "browse": 10, "cart": 3, "currency": 2, "add": 2, "home": 1, "checkout": 1,
    }  # fmt: skip
    assert dict(SIGNED_IN_SHOPPING) == {**SHOPPING, "history": 2, "sign_in": 1}


@pytest.mark.parametrize(
    ("users", "signed_in"), [(1, 0), (2, 1), (3, 1), (11, 1), (12, 2), (100, 10), (1000, 100)]
)
def test_one_user_in_ten_is_signed_in(users: int, signed_in: int) -> None:
    assert signed_in_users(users) == signed_in


def test_a_single_flow_has_only_itself() -> None:
    for flow in SINGLE_FLOWS:
        assert dict(weights_of(flow, signed_in=flow == "history")) == {flow: 1}
        assert mix_shares(flow, 5) == {flow: 1.0}
    with pytest.raises(ValueError, match="no such flow"):
        weights_of("dance", signed_in=False)


def test_the_mix_shares_add_up_and_follow_the_weights() -> None:
    shares = mix_shares("mix", 100)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["browse"] / shares["checkout"] == pytest.approx(10.0)
    assert shares["history"] == pytest.approx(0.1 * 2 / 22)  # 2 of 22 for one in ten


def test_profile_needs_an_account_and_sign_up_makes_one() -> None:
    assert {"profile", "sign_up"} <= set(SINGLE_FLOWS)
    assert "profile" in NEEDS_ACCOUNT  # its users sign in (or up) before the window
    assert "sign_up" not in NEEDS_ACCOUNT  # each action makes its own account
    assert "sign_up" not in SIGNED_IN_SHOPPING  # not in the mix: registrations are few
