"""API tokens: created in Settings or by `flask create-token`, stored hashed, revocable.

A token's plain value is returned once, when it is made; only its SHA-256 is stored. Checking a
token records when it was last used, at most once a minute per token, so a busy client does not turn
every API call into a write.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import ApiToken, User, utcnow
from flowapp.models.user import TOKEN_PREFIX

LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_NAME = 120


class TokenError(ValueError):
    """A token cannot be created as asked; the message says why."""


def create(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user` (flushed). Returns the row and the plain value, shown once."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Give the token a name, so you can tell it apart later.")
    if len(name) > MAX_NAME:
        raise TokenError(f"The name is longer than {MAX_NAME} characters.")
    if not user.active:
        raise TokenError(f"{user.email} is deactivated; tokens are only made for active users.")
    token, value = ApiToken.generate(user, name)
    db.session.add(token)
    db.session.flush()
    return token, value


def authenticate(value: str) -> ApiToken | None:
    """The live token with this plain value (its user active), or None. Reads only."""
    if not value or not value.startswith(TOKEN_PREFIX) or len(value) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(value)))
    if token is None or token.revoked or not token.user.active:
        return None
    return token


def use_to_record(token: ApiToken) -> bool:
    """Whether this use should be written: the last one recorded is older than the resolution (a
    minute), so a busy client costs one write a minute, not one per request."""
    return token.last_used_at is None or utcnow() - token.last_used_at >= LAST_USED_RESOLUTION


def record_use(token: ApiToken) -> None:
    """Set the token's last use to now (flushed)."""
    token.last_used_at = utcnow()
    db.session.flush()


def revoke(token: ApiToken) -> None:
    """Stop a token from working (flushed). Revoking twice changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()


def listing(user: User | None = None) -> list[ApiToken]:
    """Tokens, newest first: every user's when `user` is None, else that user's."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(db.session.scalars(query))


def get(token_id: int) -> ApiToken | None:
    """A token by id, or None."""
    return db.session.get(ApiToken, token_id)
