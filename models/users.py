"""Accounts, passwords and API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, ForeignKey, Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, utcnow
from .errors import AuthenticationFailed, EmailTaken, InvalidInput, NotFound
from .ledger import DEPOSITS, account_id, post_transaction, wallet_code

API_KEY_PREFIX = "oib_"
# argon2id with the library's defaults (64 MiB, t=3): OWASP's recommended floor is 19 MiB, t=2.
_hasher = PasswordHasher()
# A hash to verify against when the e-mail is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    terms_accepted_at: Mapped[datetime | None]
    age_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def wallet(self) -> str:
        return wallet_code(self.id)

    # What Flask-Login looks for, duck-typed so that models import no Flask.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return not self.is_suspended

    def get_id(self) -> str:
        return str(self.id)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Only a SHA-256 of the key is kept: keys are 256-bit random, so a fast hash is enough.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    local, sep, domain = email.rpartition("@")
    if (
        not sep
        or not local
        or "." not in domain
        or len(email) > 254
        or any(c.isspace() for c in email)
    ):
        raise InvalidInput("a valid e-mail address is required")
    return email


def hash_password(password: str) -> str:
    if len(password or "") < 8:
        raise InvalidInput("the password must have at least 8 characters")
    return _hasher.hash(password)


def create_user(
    session: Session,
    email: str,
    password: str | None = None,
    *,
    is_admin: bool = False,
    credit: int = 0,
    terms_accepted: bool = True,
    age_confirmed: bool = True,
) -> User:
    """Create an account with its wallet; ``credit`` posts an opening deposit."""
    user = User(
        email=normalize_email(email),
        password_hash=hash_password(password) if password else "",
        is_admin=is_admin,
        terms_accepted_at=utcnow() if terms_accepted else None,
        age_confirmed=age_confirmed,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise EmailTaken() from None
    account_id(session, user.wallet)
    if credit < 0:
        raise InvalidInput("credit must not be negative")
    if credit:
        post_transaction(
            session, "deposit", [(DEPOSITS, -credit), (user.wallet, credit)], memo="opening credit"
        )
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    """The user with this e-mail and password, else :class:`AuthenticationFailed`."""
    try:
        user = session.scalar(select(User).where(User.email == normalize_email(email)))
    except InvalidInput:
        user = None
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        raise AuthenticationFailed() from None
    if user is None or not user.password_hash:
        raise AuthenticationFailed()
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    return user


def change_password(session: Session, user: User, old: str, new: str) -> None:
    authenticate(session, user.email, old)
    user.password_hash = hash_password(new)


def get_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(f"no account {email!r}")
    return user


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, user: User, name: str = "") -> tuple[ApiKey, str]:
    """A new key: the row, and the secret, which is shown once and never stored."""
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(user_id=user.id, key_hash=_digest(secret), prefix=secret[:10], name=name[:100])
    session.add(key)
    session.flush()
    return key, secret


def user_for_api_key(session: Session, secret: str) -> User | None:
    """The owner of a live key, or None. Marks the key as used (at most once a minute)."""
    if not secret:
        return None
    row = session.execute(
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == _digest(secret), ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    key, user = row
    now = utcnow()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return user


def list_api_keys(session: Session, user: User) -> list[ApiKey]:
    return list(
        session.scalars(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.id.desc()))
    )


def revoke_api_key(session: Session, user: User, key_id: int) -> None:
    done = session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if done.rowcount != 1:
        raise NotFound("no such live API key")
