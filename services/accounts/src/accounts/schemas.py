"""What the API reads and writes: request bodies and responses, as the contract shows them.

Bounds here are about shape only (a sane size, one line of text); the rules a person can
act on (a weak password, a malformed address) are the domain's, with their own errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from accounts.domain import MAX_NAME_LENGTH, PersonName, clean_name

# Generous: a limit only against abuse. The policy's own bounds apply to new passwords.
AnyPassword = Annotated[str, Field(min_length=1, max_length=1024)]
AnyEmail = Annotated[str, Field(min_length=1, max_length=320, examples=["ada@example.com"])]
DisplayName = Annotated[
    str,
    Field(
        min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$"
    ),
    AfterValidator(clean_name),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Named(_Request):
    """A name, as given and family names. Release 3 of the name split (contract,
    docs/operations.md) took `display_name` out of the requests: deprecated since release
    2, and no caller sends it (`chassis.consumers`' `sends`, checked against this schema)."""

    given_name: DisplayName | None = None
    family_name: Annotated[
        DisplayName | None, Field(description="only with given_name; left out: none")
    ] = None

    @model_validator(mode="after")
    def _one_name(self) -> _Named:
        if self.family_name is not None and self.given_name is None:
            raise ValueError("family_name needs given_name")
        name = self.name_parts()
        if name is not None and len(name.full) > MAX_NAME_LENGTH:
            raise ValueError(f"the whole name is longer than {MAX_NAME_LENGTH} characters")
        return self

    def name_parts(self) -> PersonName | None:
        """The name sent, or None when none was."""
        if self.given_name is None:
            return None
        return PersonName(self.given_name, self.family_name)


class Registration(_Named):
    """A sign-up. `given_name` is required, by the validator: the schema keeps it optional
    and nullable as released in v0.3.0, where a sign-up sent it or the display name, since
    making it required there is a break the contracts check cannot tell from this one
    (every v0.3.0 sign-up without it sent the display name, which is gone)."""

    email: AnyEmail
    password: Annotated[AnyPassword, Field(description="12 to 128 characters, hard to guess")]
    given_name: Annotated[
        DisplayName | None, Field(description="required: what the shop greets them by")
    ] = None

    @model_validator(mode="after")
    def _has_name(self) -> Registration:
        if self.given_name is None:
            raise ValueError("send given_name (and family_name)")
        return self

    def name(self) -> PersonName:
        return PersonName(self.given_name or "", self.family_name)


class Credentials(_Request):
    email: AnyEmail
    password: AnyPassword


class Refresh(_Request):
    session_token: Annotated[str, Field(min_length=1, max_length=200)]


class PasswordChange(_Request):
    current_password: AnyPassword
    new_password: AnyPassword


class ProfileChanges(_Named):
    """Fields to change; what is left out stays. A new name is given_name with family_name
    (left out: none). A new email needs the current password."""

    email: AnyEmail | None = None
    current_password: AnyPassword | None = None


class VerificationRequest(_Request):
    email: AnyEmail


class Verification(_Request):
    token: Annotated[str, Field(min_length=1, max_length=200, description="the link's token")]
    password: Annotated[
        AnyPassword, Field(description="the password chosen at the sign-up the link was sent for")
    ]


class Registered(BaseModel):
    status: Literal["accepted"] = "accepted"
    email: Annotated[str, Field(description="the address as accounts normalized it")]
    detail: str = (
        "Check your mail: a new account is confirmed with the link sent to the address "
        "before it can sign in. If the address was already registered, its owner hears "
        "about this attempt by mail."
    )


class VerificationRequested(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str = (
        "If an account with this address waits for confirmation, a new link is on its way; "
        "earlier links no longer work."
    )


class Profile(BaseModel):
    id: str
    email: str
    display_name: Annotated[
        str,
        Field(
            description="given + family name; deprecated: read given_name and family_name",
            json_schema_extra={"deprecated": True},
        ),
    ]
    given_name: Annotated[str, Field(description="what the shop greets them by")]
    family_name: str | None = None
    created_at: datetime


class AccessToken(BaseModel):
    token: Annotated[str, Field(description="send as `Authorization: Bearer <token>`")]
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme, not a secret)
    expires_at: Annotated[datetime, Field(description="refresh it before then")]


class SessionInfo(BaseModel):
    id: str
    user_id: str
    expires_at: Annotated[datetime, Field(description="the latest it can live")]


class NewSession(SessionInfo):
    token: Annotated[
        str,
        Field(description="the refresh credential: keep it server-side, never in a browser"),
    ]


class SignedIn(BaseModel):
    user: Profile
    session: NewSession
    access_token: AccessToken


class Refreshed(BaseModel):
    user: Profile
    session: SessionInfo
    access_token: AccessToken
