"""The free mail.tm-compatible tier: mailboxes with a password, read over mail.tm's API.

mail.tm lets anyone create ``name@domain`` with a password and read what arrives. Here
such a mailbox is one of our addresses kept alive by a free rental order (price 0) owned
by the operator's account named in ``OTPINBOX_MAILTM_OWNER``; the rental decides, as for
every address, whether SMTP accepts mail (RCPT). Deleting the account ends the rental.
Messages keep mail.tm's per-message ``seen`` and deleted flags in their own table.
"""

from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, ForeignKey, Integer, String, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, parse_id, utcnow
from .catalog import Address, Domain, get_domain, get_service
from .errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, UnknownDomain
from .mail import Message
from .orders import end_rental, open_free_rental
from .users import User, hash_password

# mail.tm accepts short local parts; ours must still be a safe, plain mailbox name.
_LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{1,62}[a-z0-9])$")
PAGE_SIZE = 30  # mail.tm's page size
_hasher = PasswordHasher()
# Verified against when the address is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not a password")


class AddressTaken(Conflict):
    """This address is already used."""

    code = "address_taken"


class MailtmAccount(Base):
    __tablename__ = "mailtm_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]

    address: Mapped[Address] = relationship(lazy="joined")

    @property
    def email(self) -> str:
        return self.address.email


class MailtmMessageFlags(Base):
    """mail.tm's per-message state; no row means unseen and not deleted."""

    __tablename__ = "mailtm_message_flags"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    seen: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


def create_account(
    session: Session,
    owner: User,
    address: str,
    password: str,
    *,
    service_name: str,
    days: int,
    now: datetime | None = None,
) -> MailtmAccount:
    """A new mailbox ``address`` on one of our domains, alive for ``days`` at no charge."""
    now = now or utcnow()
    local, sep, domain_name = (address or "").strip().lower().rpartition("@")
    if not sep or not _LOCAL_PART.match(local):
        raise InvalidInput("address: This value is not a valid email address.")
    try:
        domain = get_domain(session, domain_name)
    except UnknownDomain:
        raise InvalidInput("address: The domain is not valid.") from None
    password_hash = hash_password(password)
    mailbox = Address(local_part=local, domain_id=domain.id, user_id=owner.id)
    mailbox.domain = domain
    try:
        with session.begin_nested():
            session.add(mailbox)
    except IntegrityError:  # the unique (local part, domain) decides, not a prior check
        raise AddressTaken("address: This value is already used.") from None
    order = open_free_rental(session, owner, get_service(session, service_name), mailbox, days, now)
    account = MailtmAccount(
        address_id=mailbox.id,
        order_id=order.id,
        password_hash=password_hash,
        created_at=now,
        updated_at=now,
    )
    account.address = mailbox
    session.add(account)
    session.flush()
    return account


def authenticate(session: Session, address: str, password: str) -> MailtmAccount:
    local, _, domain = (address or "").strip().lower().rpartition("@")
    account = session.scalar(
        select(MailtmAccount)
        .join(Address, Address.id == MailtmAccount.address_id)
        .join(Domain, Domain.id == Address.domain_id)
        .where(Address.local_part == local, Domain.name == domain)
        .where(MailtmAccount.deleted_at.is_(None))
    )
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        raise AuthenticationFailed("Invalid credentials.") from None
    if account is None:
        raise AuthenticationFailed("Invalid credentials.")
    return account


def live_account(session: Session, account_id: int | str) -> MailtmAccount:
    number = parse_id(account_id)
    account = session.get(MailtmAccount, number) if number else None
    if account is None or account.deleted_at is not None:
        raise NotFound("Not Found")
    return account


def delete_account(session: Session, account: MailtmAccount, now: datetime | None = None) -> None:
    """Close the mailbox: no more mail is accepted, and the password stops working."""
    now = now or utcnow()
    done = session.execute(
        update(MailtmAccount)
        .where(MailtmAccount.id == account.id, MailtmAccount.deleted_at.is_(None))
        .values(deleted_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise NotFound("Not Found")
    end_rental(session, account.order_id, now)


def used_bytes(session: Session, account: MailtmAccount) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Message.size), 0))
            .outerjoin(MailtmMessageFlags, MailtmMessageFlags.message_id == Message.id)
            .where(Message.address_id == account.address_id)
            .where(MailtmMessageFlags.deleted.is_not(True))
        )
        or 0
    )


def list_messages(
    session: Session, account: MailtmAccount, page: int = 1
) -> tuple[list[tuple[Message, bool]], int]:
    """One page of the mailbox, newest first, with each message's seen flag; and the total."""
    visible = (
        select(Message, func.coalesce(MailtmMessageFlags.seen, False))
        .outerjoin(MailtmMessageFlags, MailtmMessageFlags.message_id == Message.id)
        .where(Message.address_id == account.address_id)
        .where(MailtmMessageFlags.deleted.is_not(True))
    )
    total = session.scalar(select(func.count()).select_from(visible.subquery())) or 0
    rows = session.execute(
        visible.order_by(Message.id.desc()).offset((max(page, 1) - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return [(message, bool(seen)) for message, seen in rows], int(total)


def get_message(
    session: Session, account: MailtmAccount, message_id: int | str
) -> tuple[Message, bool]:
    """A message of the mailbox that was not deleted, with its seen flag."""
    number = parse_id(message_id)
    row = (
        session.execute(
            select(Message, func.coalesce(MailtmMessageFlags.seen, False))
            .outerjoin(MailtmMessageFlags, MailtmMessageFlags.message_id == Message.id)
            .where(Message.id == number, Message.address_id == account.address_id)
            .where(MailtmMessageFlags.deleted.is_not(True))
        ).first()
        if number
        else None
    )
    if row is None:
        raise NotFound("Not Found")
    return row[0], bool(row[1])


def set_flags(
    session: Session,
    account: MailtmAccount,
    message_id: int | str,
    *,
    seen: bool | None = None,
    deleted: bool | None = None,
) -> None:
    message, _ = get_message(session, account, message_id)
    values = {k: v for k, v in (("seen", seen), ("deleted", deleted)) if v is not None}
    now = utcnow()
    changed = session.execute(
        update(MailtmMessageFlags)
        .where(MailtmMessageFlags.message_id == message.id)
        .values(**values, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount == 1:
        return
    try:
        with session.begin_nested():
            session.add(MailtmMessageFlags(message_id=message.id, updated_at=now, **values))
    except IntegrityError:  # created concurrently: apply ours on top
        session.execute(
            update(MailtmMessageFlags)
            .where(MailtmMessageFlags.message_id == message.id)
            .values(**values, updated_at=now)
            .execution_options(synchronize_session=False)
        )
