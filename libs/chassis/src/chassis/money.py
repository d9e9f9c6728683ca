"""Prices for people: integer minor units plus an ISO 4217 code, turned into `$24.00`.

Shared so that a shopper reads the same figure on the shop's pages (frontend) as in the
confirmation e-mail (notifications). Our own code rather than Babel: the shop shows one
locale (en-US) and Babel would bring ~30 MB of CLDR data for one function. The arithmetic
stays in integers and `Decimal`; a float never touches a price.
"""

from decimal import Decimal

# Digits after the decimal point, for currencies whose count is not 2 (ISO 4217).
_MINOR_UNIT_DIGITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip

# Symbols an en-US reader recognises without ambiguity; others show the code ("CHF 12.00").
_SYMBOLS: dict[str, str] = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩", "ILS": "₪",
    "VND": "₫", "NGN": "₦", "PHP": "₱", "UAH": "₴",
}  # fmt: skip


def minor_unit_digits(currency: str) -> int:
    """How many decimal places the currency has (2 unless ISO 4217 says otherwise)."""
    return _MINOR_UNIT_DIGITS.get(currency.upper(), 2)


def format_price(amount: int, currency: str) -> str:
    """`format_price(2400, "USD") == "$24.00"`; `format_price(1500, "JPY") == "¥1,500"`."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        # A float here would mean someone upstream broke the money contract: say so loudly.
        raise TypeError(f"amount must be an int of minor units, got {type(amount).__name__}")
    code = currency.upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    digits = minor_unit_digits(code)
    major = Decimal(abs(amount)).scaleb(-digits)
    number = f"{major:,.{digits}f}"
    sign = "-" if amount < 0 else ""
    symbol = _SYMBOLS.get(code)
    if symbol is not None:
        return f"{sign}{symbol}{number}"
    return f"{sign}{code}\N{NO-BREAK SPACE}{number}"
