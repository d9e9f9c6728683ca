"""The password policy: length bounds, nothing personal, nothing easy to guess."""

from __future__ import annotations

import pytest
from accounts.domain import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordRejected,
    check_new_password,
    password_problems,
)

EMAIL = "ada.lovelace@example.com"


def problems(password: str, **kwargs: str) -> list[str]:
    return password_problems(password, email=kwargs.pop("email", EMAIL), **kwargs)


@pytest.mark.parametrize(
    "password",
    ["plum-kettle-orbit-42", "correct horse battery staple", "Tr0ub4dor&3xyz", "x7#Kq9!vLm2@"],
)
def test_long_unguessable_passwords_pass(password: str) -> None:
    assert problems(password) == []


def test_too_short_says_how_long() -> None:
    assert problems("x7#Kq9!vLm2") == [f"Use at least {MIN_PASSWORD_LENGTH} characters."]


def test_the_bounds_are_inclusive() -> None:
    assert problems("x7#Kq9!vLm2@") == []  # 12
    long = ("plum kettle orbit " * 10)[: MAX_PASSWORD_LENGTH - 2] + "42"
    assert len(long) == MAX_PASSWORD_LENGTH
    assert problems(long) == []
    assert problems(long + "x") == [f"Use at most {MAX_PASSWORD_LENGTH} characters."]


def test_length_counts_characters_after_normalization() -> None:
    # Six "ﬁ" ligatures are twelve letters once NFKC-normalized: long enough (if guessable).
    too_short = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    assert too_short not in problems("\ufb01" * 6)
    assert problems("\ufb01" * 5) == [too_short]


@pytest.mark.parametrize("password", [EMAIL, EMAIL.upper(), "ada.lovelace", "ADA.LOVELACE"])
def test_the_email_address_or_its_name_part_is_refused(password: str) -> None:
    password = password if len(password) >= MIN_PASSWORD_LENGTH else password + "!!"
    assert problems(password)


def test_exactly_the_email_address_is_named_as_the_reason() -> None:
    assert problems(EMAIL) == ["Do not use your email address as the password."]


def test_personal_words_make_a_password_guessable() -> None:
    assert problems("lovelace1815", display_name="Ada Lovelace")


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "aaaaaaaaaaaa",
        "qwertyuiop12",
        "123456789012",
        "hunter2hunter2",
        "abcabcabcabc",
    ],
)
def test_common_and_patterned_passwords_are_refused(password: str) -> None:
    reasons = problems(password)
    assert reasons
    assert reasons[-1] == "It would be easy to guess: add more words or characters."


def test_control_characters_are_refused() -> None:
    assert problems("plum-kettle\torbit-42") == [
        "Control characters (tabs, line breaks) cannot be typed into a sign-in form."
    ]


def test_a_new_password_must_differ_from_the_current_one() -> None:
    assert problems("plum-kettle-orbit-42", current="plum-kettle-orbit-42") == [
        "Choose a password different from the current one."
    ]
    assert problems("plum-kettle-orbit-43", current="plum-kettle-orbit-42") == []


def test_check_raises_with_every_reason() -> None:
    with pytest.raises(PasswordRejected) as raised:
        check_new_password("short", email=EMAIL)
    assert raised.value.reasons == [f"Use at least {MIN_PASSWORD_LENGTH} characters."]
    assert "Use at least" in str(raised.value)
