"""Helpers for web tests on the real (committed) database: users, logins, mail."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from html.parser import HTMLParser

from models import mail, orders, users
from models.db import Database
from smtp.parse import parse
from tests.factories import make_catalog

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


@dataclass
class Account:
    id: int
    email: str


def seed_catalog(db: Database) -> None:
    with db.transaction() as session:
        make_catalog(session)


def make_account(db: Database, *, credit: int = 1000, admin: bool = False) -> Account:
    email = f"web{next(_seq)}@example.com"
    with db.transaction() as session:
        user = users.create_user(session, email, PASSWORD, credit=credit, is_admin=admin)
        return Account(user.id, email)


def login(client, account: Account) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/login", data={"email": account.email, "password": PASSWORD})
    assert response.status_code == 302, response.text


def buy(db: Database, account: Account, *, kind: str = orders.ACTIVATION, days: int | None = None):  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        user = session.get(users.User, account.id)
        order = orders.purchase(session, user, "any", kind=kind, days=days)
        return order.id, order.email


def deliver(db: Database, raw: bytes, to: str) -> list[int]:
    """Parse and store ``raw`` as the SMTP daemon does; the new message ids."""
    with db.transaction() as session:
        return mail.deliver(session, parse(raw, "sender@example.com", [to])).message_ids


class Markup(HTMLParser):
    """Every start tag and attribute of a page, to audit what would be live in a browser."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def find(self, tag: str) -> list[dict[str, str]]:
        return [attrs for t, attrs in self.tags if t == tag]
