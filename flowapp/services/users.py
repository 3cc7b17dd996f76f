"""People who log in: creating them and checking their passwords."""

from __future__ import annotations

from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import ROLES, User, utcnow

MIN_PASSWORD_LENGTH = 8

# Compared against when the email is unknown, so a wrong email costs as long as a wrong password
# (no timing hint about which accounts exist).
_DUMMY = User(email="", password_hash="")
_DUMMY.set_password("not-a-real-password")


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(email: str, password: str, role: str = "agent", name: str = "") -> User:
    """Add a user (flushed, not committed). Raises UserError for a taken email or a weak password."""
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise UserError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if find_by_email(email) is not None:
        raise UserError(f"a user with email {email} already exists")
    user = User(email=email, role=role, name=name, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Records the login time."""
    user = find_by_email(email)
    if user is None:
        _DUMMY.check_password(password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0
