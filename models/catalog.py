"""What we sell: mail domains, services, and the addresses we hand out."""

from __future__ import annotations

import fnmatch
import re
import secrets
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, utcnow
from .errors import InvalidInput, OutOfStock, UnknownDomain, UnknownService

ANY_SERVICE = "any"
# 10 characters of a 32-letter alphabet: 50 bits of entropy per address, so nobody
# guesses a live address; lowercase letters and digits survive every mail system.
LOCAL_PART_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
LOCAL_PART_LENGTH = 10
_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$"
)
_SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class Domain(Base):
    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(253), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Service(Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    price: Mapped[int] = mapped_column(Integer)
    # Price of one day of a rental on this service.
    rental_day_price: Mapped[int] = mapped_column(Integer)
    window_minutes: Mapped[int] = mapped_column(Integer, default=20)
    # Glob (with * or ?) or substring, case-insensitive. None: the service name must
    # appear in the sender, as kopeechka does; service "any" matches every sender.
    sender_pattern: Mapped[str | None] = mapped_column(String(255))
    subject_pattern: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Address(Base):
    __tablename__ = "addresses"
    __table_args__ = (UniqueConstraint("local_part", "domain_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_part: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    domain: Mapped[Domain] = relationship(lazy="joined")

    @property
    def email(self) -> str:
        return f"{self.local_part}@{self.domain.name}"


def normalize_domain(name: str) -> str:
    name = (name or "").strip().lower().rstrip(".")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput(f"{name!r} is not a valid domain name") from None
    if not _DOMAIN_RE.match(name):
        raise InvalidInput(f"{name!r} is not a valid domain name")
    return name


def add_domain(session: Session, name: str) -> Domain:
    """Serve a mail domain (idempotent: re-activates a disabled one)."""
    name = normalize_domain(name)
    domain = session.scalar(select(Domain).where(Domain.name == name))
    if domain is None:
        try:
            with session.begin_nested():
                domain = Domain(name=name, active=True)
                session.add(domain)
        except IntegrityError:  # added concurrently
            domain = session.scalar(select(Domain).where(Domain.name == name))
    assert domain is not None
    domain.active = True
    return domain


def active_domains(session: Session) -> list[Domain]:
    return list(session.scalars(select(Domain).where(Domain.active).order_by(Domain.name)))


def add_service(
    session: Session,
    name: str,
    *,
    price: int,
    window_minutes: int = 20,
    sender: str | None = None,
    subject: str | None = None,
    rental_day_price: int | None = None,
) -> Service:
    """Create or update a service (idempotent by name)."""
    name = (name or "").strip().lower()
    if not _SERVICE_RE.match(name):
        raise InvalidInput("a service name is 1-64 lowercase letters, digits, '.', '_' or '-'")
    if price < 0 or (rental_day_price is not None and rental_day_price < 0):
        raise InvalidInput("prices must not be negative")
    if not 1 <= window_minutes <= 24 * 60:
        raise InvalidInput("the window must be between 1 and 1440 minutes")
    service = session.scalar(select(Service).where(Service.name == name))
    if service is None:
        service = Service(name=name)
        session.add(service)
    service.price = price
    service.rental_day_price = price if rental_day_price is None else rental_day_price
    service.window_minutes = window_minutes
    service.sender_pattern = sender or None
    service.subject_pattern = subject or None
    service.active = True
    session.flush()
    return service


def get_service(session: Session, name: str) -> Service:
    service = session.scalar(
        select(Service).where(Service.name == (name or "").strip().lower(), Service.active)
    )
    if service is None:
        raise UnknownService(f"no service {name!r}")
    return service


def active_services(session: Session) -> list[Service]:
    return list(session.scalars(select(Service).where(Service.active).order_by(Service.name)))


def get_domain(session: Session, name: str) -> Domain:
    try:
        normalized = normalize_domain(name)
    except InvalidInput:
        raise UnknownDomain(f"no domain {name!r}") from None
    domain = session.scalar(select(Domain).where(Domain.name == normalized, Domain.active))
    if domain is None:
        raise UnknownDomain(f"no domain {name!r}")
    return domain


def new_address(session: Session, user_id: int, domain: Domain | None = None) -> Address:
    """A fresh, unique random address, on ``domain`` or spread over active domains."""
    if domain is None:
        domains = active_domains(session)
        if not domains:
            raise OutOfStock("no active mail domain")
        domain = secrets.choice(domains)
    for _ in range(5):
        local = "".join(secrets.choice(LOCAL_PART_ALPHABET) for _ in range(LOCAL_PART_LENGTH))
        address = Address(local_part=local, domain_id=domain.id, user_id=user_id)
        address.domain = domain
        try:
            with session.begin_nested():
                session.add(address)
            return address
        except IntegrityError:  # a 2^-50 collision: draw again
            continue
    raise OutOfStock("could not allocate a unique address")


def find_address(session: Session, email: str) -> Address | None:
    local, _, domain = (email or "").strip().lower().rpartition("@")
    return session.scalar(
        select(Address)
        .join(Domain, Domain.id == Address.domain_id)
        .where(Address.local_part == local, Domain.name == domain)
    )


def pattern_matches(pattern: str, *values: str | None) -> bool:
    """Case-insensitive glob (``*``, ``?``) or substring match against any value."""
    pattern = pattern.strip().lower()
    for value in values:
        value = (value or "").lower()
        if not value:
            continue
        if any(ch in pattern for ch in "*?["):
            if fnmatch.fnmatchcase(value, pattern):
                return True
        elif pattern in value:
            return True
    return False
