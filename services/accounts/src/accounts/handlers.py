"""What each identity request does: register, sign in, refresh, sign out, change password.

Two rules shape the code here. No answer may tell whether an address has an account: an
unknown address and a wrong password take the same path (the same limits, a hash verified
either way) to the same error. And ending sessions is all-or-nothing per user: signing
out or changing the password revokes every session of the user at once.

Long because the two rules above hold across every identity flow; in one module a reader
sees each flow take the same path.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chassis import get_logger
from chassis.user_tokens import UserTokenExpired, UserTokenRejected

from accounts.address_book import AddressBook
from accounts.domain import (
    AccessTokenExpired,
    AccessTokenInvalid,
    EmailNotVerified,
    InvalidCredentials,
    PasswordRequired,
    SessionEnded,
    VerificationLinkInvalid,
    VerificationPasswordMismatch,
    Viewer,
    WrongPassword,
    check_new_password,
    lookup_email,
    normalize_email,
)
from accounts.hashing import Passwords
from accounts.keys import UserTokens
from accounts.limits import Limit, Limiter
from accounts.schemas import (
    AccessToken,
    Credentials,
    NewSession,
    PasswordChange,
    Profile,
    ProfileChanges,
    Refreshed,
    Registered,
    Registration,
    SessionInfo,
    SignedIn,
    Verification,
    VerificationRequest,
)
from accounts.session_cache import SessionCache
from accounts.store import NewVerification, SessionRecord, Store

_log = get_logger("accounts.handlers")


@dataclass(frozen=True, slots=True)
class Rules:
    """The service's policy, from its settings."""

    session_lifetime: timedelta
    session_idle: timedelta
    signin_per_account: Limit  # per (account, client address)
    signin_per_address: Limit
    registration_per_address: Limit
    verification_requests_per_email: Limit
    password_checks_per_user: Limit
    verification_lifetime: timedelta


@dataclass(frozen=True, slots=True)
class Accounts:
    """Everything a request works with; made per request, cheaply."""

    store: Store
    address_book: AddressBook
    passwords: Passwords
    tokens: UserTokens
    limiter: Limiter
    sessions: SessionCache
    rules: Rules


async def _check_new_password(
    password: str, *, email: str, display_name: str, current: str | None = None
) -> None:
    # In a thread: the guessability estimate takes milliseconds of pure Python.
    await asyncio.to_thread(
        check_new_password, password, email=email, display_name=display_name, current=current
    )


def _token_hash(session_token: str) -> bytes:
    return hashlib.sha256(session_token.encode()).digest()


def _access_token(accounts: Accounts, session: SessionRecord) -> AccessToken:
    token, expires = accounts.tokens.signer.issue(session.user_id, session.id)
    return AccessToken(token=token, expires_at=datetime.fromtimestamp(expires, UTC))


async def _profile(accounts: Accounts, user_id: str) -> Profile:
    profile = await accounts.store.profile(user_id)
    if profile is None:  # deleted while signed in: the session is as good as over
        raise SessionEnded
    return profile


async def _signed_in(accounts: Accounts, session: SessionRecord, token: str) -> SignedIn:
    await accounts.sessions.remember(session)
    return SignedIn(
        user=await _profile(accounts, session.user_id),
        session=NewSession(
            id=session.id, user_id=session.user_id, expires_at=session.expires_at, token=token
        ),
        access_token=_access_token(accounts, session),
    )


def _new_link(accounts: Accounts) -> NewVerification:
    token = secrets.token_urlsafe(32)
    return NewVerification(token, _token_hash(token), accounts.rules.verification_lifetime)


async def register(accounts: Accounts, form: Registration, client: str) -> Registered:
    """Register the address; its mail (through the outbox) says what happens next.

    The same 202 whether the address was free or not, and the same work (the password is
    hashed, one transaction writes one event), so the answer does not tell who has an
    account. A new account proves its address (the link in its mail) before it signs in;
    the owner of a taken address is told by mail that someone tried.
    """
    await accounts.limiter.attempt((accounts.rules.registration_per_address, client))
    email = normalize_email(form.email)
    name = form.name()
    await _check_new_password(form.password, email=email, display_name=name.full)
    password_hash = await accounts.passwords.hash(form.password)
    user_id, mail = await accounts.store.register(email, name, password_hash, _new_link(accounts))
    _log.info("registration", user_id=user_id, mail=mail)
    return Registered(email=email)


async def request_verification(
    accounts: Accounts, request: VerificationRequest, client: str
) -> str | None:
    """Count a request for a new link (limited per client and per address, so nobody
    floods a mailbox through us); the address to send it to, if it is one. The answer is
    the same 202 for any address and goes before `send_verification` runs: that does a
    write only for an unconfirmed account, which the answer's time would otherwise tell
    (measured: about 5 ms more, median, with the whole request at 3-4 ms)."""
    email = lookup_email(request.email)
    rules = accounts.rules
    await accounts.limiter.attempt(
        (rules.registration_per_address, client),
        (rules.verification_requests_per_email, email or request.email.strip().lower()),
    )
    return email


async def send_verification(accounts: Accounts, email: str) -> None:
    """A new link for the address's account if it waits for one (older links stop working).
    Run after the answer; a failure here is only logged: the shopper can ask again."""
    try:
        sent = await accounts.store.request_verification(email, _new_link(accounts))
    except Exception:
        _log.exception("a requested verification link was not sent")
        return
    if sent:
        _log.info("verification link sent again")


async def verify(accounts: Accounts, verification: Verification, client: str) -> SignedIn:
    """Use a verification link: the address is proven and its holder signed in.

    Only with the password of the sign-up the link was sent for. Re-registering an
    unconfirmed address replaces its password and mails a new link to the address; without
    this check its owner, clicking that link, would confirm a stranger's password. Wrong
    guesses count as failed sign-ins of that account from this client, so the link page is
    no way around the sign-in limits.
    """
    token_hash = _token_hash(verification.token)
    pending = await accounts.store.pending_verification(token_hash)
    if pending is None:
        raise VerificationLinkInvalid
    rules = accounts.rules
    attempt = await accounts.limiter.attempt(
        (rules.signin_per_account, f"{pending.email}\n{client}"),
        (rules.signin_per_address, client),
    )
    if not await accounts.passwords.verify(pending.password_hash, verification.password):
        raise VerificationPasswordMismatch
    await accounts.limiter.forgive(attempt)
    session_token = secrets.token_urlsafe(32)
    session = await accounts.store.verify(
        token_hash, pending.password_hash, _token_hash(session_token), rules.session_lifetime
    )
    if session is None:  # used, expired or re-registered since it was read
        raise VerificationLinkInvalid
    _log.info("address verified", user_id=session.user_id, session_id=session.id)
    return await _signed_in(accounts, session, session_token)


async def sign_in(accounts: Accounts, credentials: Credentials, client: str) -> SignedIn:
    email = lookup_email(credentials.email)
    rules = accounts.rules
    # Counted before anything is looked up, for known and unknown addresses alike. Per
    # (account, client), not per account: failures from one client must not lock the owner
    # out from another (OWASP); the per-client limit bounds one client's guesses overall.
    account = email or credentials.email.strip().lower()
    attempt = await accounts.limiter.attempt(
        (rules.signin_per_account, f"{account}\n{client}"),
        (rules.signin_per_address, client),
    )
    user = await accounts.store.user_by_email(email) if email else None
    stored = user.password_hash if user else None
    if not await accounts.passwords.verify(stored, credentials.password) or user is None:
        raise InvalidCredentials
    await accounts.limiter.forgive(attempt)
    if not user.verified:  # told only to whoever knows the password: no one else learns it
        raise EmailNotVerified
    if accounts.passwords.needs_rehash(user.password_hash):
        rehashed = await accounts.passwords.hash(credentials.password)
        await accounts.store.replace_hash(user.id, user.password_hash, rehashed)
        _log.info("password rehashed with current parameters", user_id=user.id)
    token = secrets.token_urlsafe(32)
    session = await accounts.store.open_session(user.id, _token_hash(token), rules.session_lifetime)
    _log.info("signed in", user_id=user.id, session_id=session.id)
    return await _signed_in(accounts, session, token)


async def refresh(accounts: Accounts, session_token: str) -> Refreshed:
    session = await accounts.store.use_session(
        _token_hash(session_token), accounts.rules.session_idle
    )
    if session is None:
        raise SessionEnded
    return Refreshed(
        user=await _profile(accounts, session.user_id),
        session=SessionInfo(id=session.id, user_id=session.user_id, expires_at=session.expires_at),
        access_token=_access_token(accounts, session),
    )


async def authenticate(accounts: Accounts, access_token: str | None) -> Viewer:
    """The signed-in user behind an access token whose session still stands."""
    if not access_token:
        raise AccessTokenInvalid("send Authorization: Bearer <access token>")
    try:
        claims = accounts.tokens.verifier.verify(access_token)
    except UserTokenExpired:
        raise AccessTokenExpired from None
    except UserTokenRejected as rejected:
        raise AccessTokenInvalid(str(rejected)) from None
    session = await accounts.sessions.get(claims.session_id)
    if session is None:
        session = await accounts.store.live_session(claims.session_id)
        if session is not None:
            await accounts.sessions.remember(session)
    if session is None or session.user_id != claims.user_id:
        raise SessionEnded
    return Viewer(session.user_id, session.id, session.expires_at)


def current_session(viewer: Viewer) -> SessionInfo:
    return SessionInfo(
        id=viewer.session_id, user_id=viewer.user_id, expires_at=viewer.session_expires_at
    )


async def sign_out(accounts: Accounts, viewer: Viewer) -> None:
    """Sign the user out everywhere: every session of theirs ends now."""
    revoked = await accounts.store.revoke_sessions(viewer.user_id)
    await accounts.sessions.forget(revoked)
    _log.info("signed out", user_id=viewer.user_id, sessions_revoked=len(revoked))


async def _confirm_password(
    accounts: Accounts, user_id: str, password: str, *, count_success: bool = False
) -> tuple[str, str]:
    """Check a signed-in user's password (limited per user, so a stolen session cannot
    guess it); their email address and display name. With `count_success`, a right
    password counts against the limit too."""
    attempt = await accounts.limiter.attempt((accounts.rules.password_checks_per_user, user_id))
    user = await accounts.store.user(user_id)
    if user is None:
        raise SessionEnded
    if not await accounts.passwords.verify(user.password_hash, password):
        raise WrongPassword
    if not count_success:
        await accounts.limiter.forgive(attempt)
    return user.email, user.name.full


async def change_password(accounts: Accounts, viewer: Viewer, change: PasswordChange) -> SignedIn:
    """New password; every session ends, and the one asking gets a fresh session."""
    email, name = await _confirm_password(accounts, viewer.user_id, change.current_password)
    await _check_new_password(
        change.new_password, email=email, display_name=name, current=change.current_password
    )
    password_hash = await accounts.passwords.hash(change.new_password)
    token = secrets.token_urlsafe(32)
    revoked, session = await accounts.store.change_password(
        viewer.user_id, password_hash, _token_hash(token), accounts.rules.session_lifetime
    )
    await accounts.sessions.forget(revoked)
    _log.info("password changed", user_id=viewer.user_id, sessions_revoked=len(revoked))
    return await _signed_in(accounts, session, token)


async def profile(accounts: Accounts, viewer: Viewer) -> Profile:
    return await _profile(accounts, viewer.user_id)


async def update_profile(accounts: Accounts, viewer: Viewer, changes: ProfileChanges) -> Profile:
    email = None
    if changes.email is not None:
        email = normalize_email(changes.email)
        if changes.current_password is None:
            raise PasswordRequired
        # Every email change counts, right password or not: "that address is taken" tells
        # a signed-in user who has an account, so they get few chances to ask.
        await _confirm_password(
            accounts, viewer.user_id, changes.current_password, count_success=True
        )
    name = changes.name_parts()
    updated = await accounts.store.update_profile(viewer.user_id, name=name, email=email)
    if updated is None:
        raise SessionEnded
    return updated
