"""Readable test data: ``make_user``, ``make_catalog``, ``mail_bytes``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from models import catalog, users

_seq = itertools.count(1)
DOMAIN = "otpinbox.test"


@dataclass
class Catalog:
    domain: catalog.Domain
    any: catalog.Service
    discord: catalog.Service


def make_catalog(session: Session) -> Catalog:
    """Our domain, the catch-all service 'any' (100) and 'discord' (150, 20 min)."""
    domain = catalog.add_domain(session, DOMAIN)
    any_service = catalog.add_service(session, "any", price=100, window_minutes=20)
    discord = catalog.add_service(
        session, "discord", price=150, window_minutes=20, rental_day_price=50
    )
    session.flush()
    return Catalog(domain=domain, any=any_service, discord=discord)


def make_user(
    session: Session, *, credit: int = 1000, email: str | None = None, **kw
) -> users.User:  # type: ignore[no-untyped-def]
    """A user with ``credit`` in the wallet and no password (fast: no argon2)."""
    return users.create_user(session, email or f"user{next(_seq)}@example.com", credit=credit, **kw)


def mail_bytes(
    to: str,
    *,
    body: str = "Your verification code is 482913.",
    subject: str = "Your code",
    sender: str = "noreply@discord.com",
) -> bytes:
    return (
        f"From: Service <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{next(_seq)}@test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()
