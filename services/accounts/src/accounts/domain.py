"""The rules of identity: what an email address, a password and a name must be. No I/O.

Passwords follow NIST SP 800-63B: a length range rather than composition rules, Unicode
normalized (NFKC) before anything measures or hashes it, and a check against common and
guessable choices. That check is zxcvbn's estimate (dictionaries of common passwords,
words and names, plus keyboard walks, repeats and dates), fed with the user's own email
address and name so that a password made of them counts as guessable too.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
# zxcvbn's matching grows fast with length; past this many characters a password is long
# enough that its first characters decide whether it is guessable.
_STRENGTH_CHECKED_LENGTH = 72
MIN_PASSWORD_SCORE = 3  # zxcvbn: 3 = "safely unguessable", ~10^8 guesses and more
MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit, less the angle brackets
MAX_NAME_LENGTH = 80


class AccountsError(Exception):
    """A rule the request broke; the API turns each kind into problem+json."""


class InvalidEmail(AccountsError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"This is not a usable email address: {reason}")


class PasswordRejected(AccountsError):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("The password is not acceptable: " + " ".join(reasons))
        self.reasons = reasons


class InvalidCredentials(AccountsError):
    """Unknown address or wrong password: one error for both, so neither is revealed."""

    def __init__(self) -> None:
        super().__init__("The email address or the password is not right.")


class WrongPassword(AccountsError):
    """A signed-in user confirmed a change with a password that is not theirs."""

    def __init__(self) -> None:
        super().__init__("The current password is not right.")


class PasswordRequired(AccountsError):
    def __init__(self) -> None:
        super().__init__("Changing the email address needs the current password.")


class EmailUnavailable(AccountsError):
    def __init__(self) -> None:
        super().__init__("This email address cannot be used for this account.")


class EmailNotVerified(AccountsError):
    """The right password for an account whose address is not proven yet. Said only to
    whoever typed the right password (who registered it), so it tells a stranger nothing."""

    def __init__(self) -> None:
        super().__init__(
            "Confirm your email address first: open the link we sent to it, or ask for a new one."
        )


class VerificationLinkInvalid(AccountsError):
    """Unknown, used or expired: one answer for all three."""

    def __init__(self) -> None:
        super().__init__(
            "This link does not work (any more): links work once and expire. Sign in, or ask "
            "for a new one."
        )


class VerificationPasswordMismatch(AccountsError):
    """A link confirms only for whoever knows the password of the sign-up it was sent for:
    otherwise a stranger who re-registers an unconfirmed address (their password replaces
    the first) would have its owner confirm the stranger's account by clicking the link."""

    def __init__(self) -> None:
        super().__init__(
            "That password does not match the sign-up this link was sent for; sign up again "
            "to choose a new one."
        )


class TooManyAttempts(AccountsError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after} s.")
        self.retry_after = retry_after


class NotSignedIn(AccountsError):
    """The request does not prove a signed-in user (401)."""


class AccessTokenInvalid(NotSignedIn):
    def __init__(self, reason: str) -> None:
        super().__init__(f"No valid access token: {reason}.")


class AccessTokenExpired(NotSignedIn):
    """The token was good but is past its time: refresh it with the session token."""

    def __init__(self) -> None:
        super().__init__("The access token has expired; refresh it with the session token.")


class SessionEnded(NotSignedIn):
    """Signed out, revoked by a password change, idle too long or past its lifetime."""

    def __init__(self) -> None:
        super().__init__("This session has ended; sign in again.")


def normalize_email(raw: str) -> str:
    """The address as accounts stores and compares it: syntax checked, domain in IDNA
    lowercase, the whole address lowercased (every mail provider a shop meets treats local
    parts case-insensitively, and shoppers type them in any case), Unicode NFC.

    Deliverability (DNS) is not checked: that would put a network call in sign-up, and
    only a mail that arrives proves an address anyway.
    """
    candidate = raw.strip()
    if len(candidate) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"longer than {MAX_EMAIL_LENGTH} characters")
    try:
        valid = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmail(str(error)) from None
    return unicodedata.normalize("NFC", valid.normalized).lower()


def lookup_email(raw: str) -> str | None:
    """For sign-in: the normalized address, or None when it cannot be anyone's."""
    try:
        return normalize_email(raw)
    except InvalidEmail:
        return None


def normalize_password(password: str) -> str:
    """NFKC, so the same password typed on two keyboards is the same password."""
    return unicodedata.normalize("NFKC", password)


def password_problems(
    password: str, *, email: str, display_name: str = "", current: str | None = None
) -> list[str]:
    """Why a new password is refused, in words a person can act on; [] when it is fine."""
    password = normalize_password(password)
    length = len(password)
    if length < MIN_PASSWORD_LENGTH:
        return [f"Use at least {MIN_PASSWORD_LENGTH} characters."]
    if length > MAX_PASSWORD_LENGTH:
        return [f"Use at most {MAX_PASSWORD_LENGTH} characters."]
    if any(unicodedata.category(c) == "Cc" for c in password):
        return ["Control characters (tabs, line breaks) cannot be typed into a sign-in form."]
    folded = password.casefold()
    local_part = email.partition("@")[0]
    if folded == email.casefold() or folded == local_part.casefold():
        return ["Do not use your email address as the password."]
    if current is not None and password == normalize_password(current):
        return ["Choose a password different from the current one."]
    personal = [email, local_part, *display_name.split(), display_name]
    result = zxcvbn(password[:_STRENGTH_CHECKED_LENGTH], user_inputs=[p for p in personal if p])
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result["feedback"]
        reasons = [feedback["warning"]] if feedback["warning"] else []
        reasons.append("It would be easy to guess: add more words or characters.")
        return [r if r.endswith(".") else r + "." for r in reasons]
    return []


def check_new_password(
    password: str, *, email: str, display_name: str = "", current: str | None = None
) -> None:
    if problems := password_problems(
        password, email=email, display_name=display_name, current=current
    ):
        raise PasswordRejected(problems)


def clean_name(name: str) -> str:
    """A name: one line, trimmed, NFC. Pydantic has checked length and characters."""
    return unicodedata.normalize("NFC", " ".join(name.split()))


@dataclass(frozen=True, slots=True)
class PersonName:
    """A shopper's name: the given name (what the shop greets them by) and the family name,
    which not everyone has."""

    given: str
    family: str | None = None

    @property
    def full(self) -> str:
        """The whole name, as one line: given, then family."""
        return f"{self.given} {self.family}" if self.family else self.given


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    name: PersonName
    password_hash: str
    verified: bool = True


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a request is made for: a user, in one of their sessions."""

    user_id: str
    session_id: str
    session_expires_at: datetime
