"""The most one charge may take, per currency: what card processors publish, in this shop's
minor units (ISO 4217's exponent, as the currency service counts them).

The figures are Stripe's, the processor whose test cards this service follows: its API
reference for `amount` ("supports up to eight digits (e.g., a value of 99999999 for a USD
charge of $999,999.99)") and its "Supported currencies" page, section "Minimum and maximum
charge amounts" (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts):
- eight digits of minor units for every currency: USD 999,999.99, JPY 99,999,999;
- twelve digits for IDR (IDR 9,999,999,999.99): with eight, any cart above about EUR 57
  could not be paid in rupiah;
- Stripe counts ISK in hundredths (two decimals in its API) where ISO 4217, and so this
  shop, counts whole krónur: its eight digits are ISK 999,999.99, at most 999,999 here.

The rule covers every ISO 4217 currency, so every currency the currency service offers
has a limit. It lives here alone: payments refuses a charge above it, and publishes it
(`GET /v1/limits/{currency}`) for orders to check an order when it is priced, before any
card is charged. orders never imports payments.
"""

from __future__ import annotations

from iso4217 import Currency

from payments.domain import Money

SOURCE = "https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts"
EIGHT_DIGITS = 99_999_999
EXCEPTIONS = {
    "IDR": 999_999_999_999,  # twelve digits
    "ISK": 999_999,  # Stripe's 99,999,999 hundredths of a króna, in whole krónur
}
MAX_AMOUNT = max(EIGHT_DIGITS, *EXCEPTIONS.values())  # the largest any currency allows


def limit(currency: str) -> Money:
    """The most one charge may be in `currency` (an ISO 4217 code)."""
    return Money(EXCEPTIONS.get(currency, EIGHT_DIGITS), currency)


def shown(money: Money) -> str:
    """An amount as people read it: "IDR 9,999,999,999.99", "JPY 99,999,999"."""
    exponent = Currency(money.currency).exponent or 0
    whole, cents = divmod(money.amount, 10**exponent)
    fraction = f".{cents:0{exponent}d}" if exponent else ""
    return f"{money.currency} {whole:,}{fraction}"
