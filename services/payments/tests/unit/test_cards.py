"""The card rules, without I/O; Luhn held to its definition by property tests."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from payments.cards import CardInvalid, brand_of, digits_of, luhn_valid, validate

TODAY = datetime.date(2026, 6, 15)
digit_strings = st.text(alphabet="0123456789", min_size=1, max_size=30)


def reference_luhn(digits: str) -> bool:
    """The textbook statement: double every second digit from the right, add the digits
    of every product, and the total must end in 0."""
    total = 0
    for index, char in enumerate(digits[::-1]):
        value = int(char) * (2 if index % 2 else 1)
        total += sum(int(d) for d in str(value))
    return total % 10 == 0


@given(digit_strings)
def test_luhn_agrees_with_the_textbook_statement(digits: str) -> None:
    assert luhn_valid(digits) == reference_luhn(digits)


@given(digit_strings)
def test_exactly_one_check_digit_completes_any_payload(payload: str) -> None:
    assert sum(luhn_valid(payload + str(d)) for d in range(10)) == 1


@given(digit_strings, st.data())
def test_changing_any_one_digit_breaks_a_valid_number(payload: str, data: st.DataObject) -> None:
    number = next(payload + str(d) for d in range(10) if luhn_valid(payload + str(d)))
    position = data.draw(st.integers(0, len(number) - 1))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    assert not luhn_valid(number[:position] + other + number[position + 1 :])


@given(digit_strings, st.data())
def test_swapping_two_neighbours_breaks_a_valid_number(payload: str, data: st.DataObject) -> None:
    number = next(payload + str(d) for d in range(10) if luhn_valid(payload + str(d)))
    if len(number) < 2:
        return
    i = data.draw(st.integers(0, len(number) - 2))
    a, b = number[i], number[i + 1]
    if a == b or {a, b} == {"0", "9"}:  # the one swap Luhn cannot see, and no swap at all
        return
    assert not luhn_valid(number[:i] + b + a + number[i + 2 :])


@given(digit_strings)
def test_leading_zeros_do_not_change_the_check(digits: str) -> None:
    assert luhn_valid("00" + digits) == luhn_valid(digits)


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424242",
        "5555555555554444",
        "4000000000000002",
        "4000000000009995",
        "4000000000000119",
        "4000123456789017",
        "378282246310005",
        "6011111111111117",
        "3530111333300000",
    ],
)
def test_the_test_cards_pass_luhn(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("371449635398431", "amex"),
        ("6011111111111117", "discover"),
        ("6500000000000002", "discover"),
        ("30569309025904", "diners"),
        ("3530111333300000", "jcb"),
        ("6200000000000005", "unionpay"),
        ("9999999999999995", "unknown"),
    ],
)
def test_brands(number: str, brand: str) -> None:
    assert brand_of(number) == brand


def test_spaces_and_dashes_are_ignored() -> None:
    assert digits_of("4242 4242-4242 4242") == "4242424242424242"
    card = validate("4242 4242-4242 4242", 12, 2030, "123", TODAY)
    assert (card.number, card.brand, card.last4) == ("4242424242424242", "visa", "4242")


def test_the_number_is_not_in_the_cards_repr() -> None:
    card = validate("4242424242424242", 12, 2030, "123", TODAY)
    assert "4242424242424242" not in repr(card)
    assert "4242424242424242" not in str(card)


def errors_of(number: str, month: int, year: int, cvc: str) -> dict[str, str]:
    with pytest.raises(CardInvalid) as raised:
        validate(number, month, year, cvc, TODAY)
    return {e.field: e.message for e in raised.value.errors}


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("4242424242424241", "This card number is not valid."),
        ("4242 4242 4242 424x", "Enter the card number using digits only."),
        (
            "\uff14\uff12" * 8,
            "Enter the card number using digits only.",
        ),  # fullwidth
        ("", "Enter the card number using digits only."),
        ("42424242426", "A card number has 12 to 19 digits."),
        ("4" * 19 + "42", "A card number has 12 to 19 digits."),
    ],
)
def test_bad_numbers(number: str, message: str) -> None:
    assert errors_of(number, 12, 2030, "123") == {"card.number": message}


@pytest.mark.parametrize(
    ("month", "year", "field", "message"),
    [
        (5, 2026, "card.exp_month", "This card has expired."),
        (12, 2025, "card.exp_year", "This card has expired."),
        (0, 2030, "card.exp_month", "The expiry month is 1 to 12."),
        (13, 2030, "card.exp_month", "The expiry month is 1 to 12."),
        (1, 2047, "card.exp_year", "The expiry year is too far in the future."),
        (1, 30, "card.exp_year", "This card has expired."),  # two digits are not a year
    ],
)
def test_bad_expiry(month: int, year: int, field: str, message: str) -> None:
    assert errors_of("4242424242424242", month, year, "123") == {field: message}


def test_a_card_is_good_through_the_end_of_its_expiry_month() -> None:
    last_day = datetime.date(2026, 6, 30)
    for today, month, year in [(TODAY, 6, 2026), (last_day, 6, 2026), (TODAY, 12, 2046)]:
        card = validate("4242424242424242", month, year, "123", today)
        assert (card.exp_month, card.exp_year, card.last4) == (month, year, "4242")
    with pytest.raises(CardInvalid):  # the day after the last one, it has expired
        validate("4242424242424242", 6, 2026, "123", datetime.date(2026, 7, 1))


@pytest.mark.parametrize(
    ("number", "cvc", "message"),
    [
        ("4242424242424242", "12", "The security code is 3 digits."),
        ("4242424242424242", "1234", "The security code is 3 digits."),
        ("4242424242424242", "12a", "The security code is 3 digits."),
        ("4242424242424242", "", "The security code is 3 digits."),
        ("378282246310005", "123", "The security code is 4 digits."),
    ],
)
def test_bad_cvc(number: str, cvc: str, message: str) -> None:
    assert errors_of(number, 12, 2030, cvc) == {"card.cvc": message}


def test_amex_takes_four_digits() -> None:
    assert validate("378282246310005", 12, 2030, "1234", TODAY).brand == "amex"


def test_every_broken_field_is_named_at_once() -> None:
    assert set(errors_of("1234", 13, 2030, "1")) == {"card.number", "card.exp_month", "card.cvc"}
