"""The signatures behind CSRF tokens and sealed flash cookies."""

import pytest
from frontend.web.csrf import CookieSigner, is_value, new_value

SIGNER = CookieSigner(b"k" * 32)


def test_a_token_belongs_to_one_cookie_and_one_secret() -> None:
    value = new_value()

    assert SIGNER.token(value) == CookieSigner(b"k" * 32).token(value)  # every replica agrees
    assert SIGNER.token(value) != SIGNER.token(new_value())
    assert SIGNER.token(value) != CookieSigner(b"j" * 32).token(value)


def test_a_sealed_payload_opens_only_unaltered() -> None:
    sealed = SIGNER.seal(b'[["info","hello"]]')

    assert SIGNER.unseal(sealed) == b'[["info","hello"]]'
    body, _, signature = sealed.partition(".")
    for forged in (
        SIGNER.seal(b"other").split(".")[0] + "." + signature,  # another body, this signature
        body + "." + signature[:-1],
        body,
        "",
        CookieSigner(b"j" * 32).seal(b'[["info","hello"]]'),
    ):
        assert SIGNER.unseal(forged) is None, forged


def test_a_csrf_token_is_no_seal() -> None:
    """One derived key per use: a token shown in a form cannot be replayed as a seal."""
    value = new_value()

    assert SIGNER.unseal(value + "." + SIGNER.token(value)) is None


@pytest.mark.parametrize("text", [None, "", "short", "x" * 42 + "=", "a" * 44])
def test_only_what_new_value_makes_is_a_csrf_cookie(text: str | None) -> None:
    assert not is_value(text)
    assert is_value(new_value())
