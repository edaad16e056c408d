"""Resellers: accounts that sell our activations to their own customers (sub-accounts).

A reseller creates sub-accounts, funds them from its own wallet through the ledger,
and sets a markup over our price per service. A sub-account's purchase charges the
sub-account our price plus the markup; the split is recorded per order
(:class:`ResellerShare`) so that every later movement knows it:

- activation: wallet(sub) -charged -> ESCROW +charged, in one ``purchase`` transaction;
  completion pays REVENUE our price and wallet(reseller) the markup from escrow in one
  ``settle`` (key ``settle:<id>``); cancel/expiry returns the full charged price to the
  sub-account (the order's ``price`` is the charged price, so the refund code is unchanged);
- rental and extension: wallet(sub) -charged, REVENUE +ours, wallet(reseller) +markup.

Suspending a reseller suspends its sub-accounts: :func:`effectively_suspended` is what
logins, API keys and purchases check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    bindparam,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .audit import audit
from .base import Base, parse_id, utcnow
from .catalog import Service, get_service
from .errors import AccountSuspended, Conflict, InvalidInput, NotAReseller, NotFound
from .ledger import (
    ESCROW,
    REVENUE,
    LedgerEntry,
    LedgerTransaction,
    account_id,
    balance,
    post_transaction,
    wallet_code,
)
from .orders import ACTIVATION, Order, OrderRef
from .users import ApiKey, User, create_api_key, create_user

MAX_MARKUP = 10_000_000  # minor units; a typo guard, not a business limit


class Reseller(Base):
    """An account allowed to run sub-accounts (granted by an admin)."""

    __tablename__ = "resellers"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubAccount(Base):
    """A customer account that belongs to a reseller (one reseller per account, for good)."""

    __tablename__ = "sub_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResellerPrice(Base):
    """The reseller's markup over our price for one service (activation and rental day)."""

    __tablename__ = "reseller_prices"
    __table_args__ = (UniqueConstraint("reseller_id", "service_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    markup: Mapped[int] = mapped_column(BigInteger, default=0)
    rental_day_markup: Mapped[int] = mapped_column(BigInteger, default=0)


class ResellerShare(Base):
    """How the charged price of one sub-account order splits between us and the reseller."""

    __tablename__ = "reseller_shares"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    base_price: Mapped[int] = mapped_column(BigInteger)  # ours: goes to REVENUE
    markup: Mapped[int] = mapped_column(BigInteger)  # the reseller's


# Read at every completion (settle_entries): a plain row, no ORM object.
_SHARES = select(ResellerShare.order_id, ResellerShare.reseller_id, ResellerShare.markup).where(
    ResellerShare.order_id.in_(bindparam("order_ids", expanding=True))
)


@dataclass(frozen=True)
class Quote:
    """What a purchase charges and who earns it; ``reseller_id`` None for direct customers."""

    base_price: int
    markup: int = 0
    reseller_id: int | None = None

    @property
    def charged(self) -> int:
        return self.base_price + self.markup


# ---- who is who -------------------------------------------------------------------------


def is_reseller(session: Session, user: User) -> bool:
    return bool(
        session.scalar(
            select(Reseller.enabled).where(Reseller.user_id == user.id, Reseller.enabled)
        )
    )


def reseller_of(session: Session, user_id: int) -> int | None:
    """The reseller that owns this account, if it is a sub-account."""
    return session.scalar(select(SubAccount.reseller_id).where(SubAccount.user_id == user_id))


def effectively_suspended(session: Session, user: User) -> bool:
    """Suspended itself, or a sub-account of a suspended reseller."""
    if user.is_suspended:
        return True
    parent = reseller_of(session, user.id)
    if parent is None:
        return False
    return bool(session.scalar(select(User.is_suspended).where(User.id == parent)))


def _require_reseller(session: Session, reseller: User) -> None:
    if not is_reseller(session, reseller):
        raise NotAReseller()
    if reseller.is_suspended:
        raise AccountSuspended()


def set_reseller(
    session: Session, admin: User, user_id: int, enabled: bool, *, ip: str = ""
) -> Reseller:
    """Grant or withdraw reseller status (an admin decision, audited)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    if enabled and reseller_of(session, user.id) is not None:
        raise Conflict("a sub-account cannot become a reseller")
    row = session.get(Reseller, user.id)
    if row is None:
        row = Reseller(user_id=user.id, enabled=enabled)
        session.add(row)
    else:
        row.enabled = enabled
    session.flush()
    action = "admin.reseller.grant" if enabled else "admin.reseller.revoke"
    audit(session, action, user_id=admin.id, ip=ip, detail=f"user {user.id}")
    return row


# ---- sub-accounts -----------------------------------------------------------------------


def create_sub_account(
    session: Session,
    reseller: User,
    email: str,
    *,
    password: str | None = None,
    label: str = "",
    ip: str = "",
) -> User:
    """A new account owned by ``reseller``; it starts with an empty wallet."""
    _require_reseller(session, reseller)
    user = create_user(session, email, password, terms_accepted=True, age_confirmed=True)
    session.add(SubAccount(user_id=user.id, reseller_id=reseller.id, label=(label or "")[:100]))
    session.flush()
    audit(session, "reseller.sub_account", user_id=reseller.id, ip=ip, detail=f"user {user.id}")
    return user


def get_sub_account(session: Session, reseller: User, sub_id: int | str) -> User:
    """A sub-account of ``reseller``; anybody else's account is :class:`NotFound`."""
    _require_reseller(session, reseller)
    uid = parse_id(sub_id)
    row = session.get(SubAccount, uid) if uid is not None else None
    if row is None or row.reseller_id != reseller.id:
        raise NotFound("no such sub-account")
    user = session.get(User, row.user_id, populate_existing=True)
    assert user is not None
    return user


def list_sub_accounts(session: Session, reseller: User) -> list[tuple[User, SubAccount]]:
    _require_reseller(session, reseller)
    rows = session.execute(
        select(User, SubAccount)
        .join(SubAccount, SubAccount.user_id == User.id)
        .where(SubAccount.reseller_id == reseller.id)
        .order_by(User.id)
    )
    return [(user, sub) for user, sub in rows]


def _positive(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput("the amount must be a positive whole number of minor units")
    return amount


def fund_sub_account(
    session: Session,
    reseller: User,
    sub_id: int | str,
    amount: int,
    *,
    key: str | None = None,
    ip: str = "",
) -> int:
    """Move ``amount`` from the reseller's wallet to the sub-account's; the new balance."""
    return _transfer(session, reseller, sub_id, amount, funding=True, key=key, ip=ip)


def reclaim_from_sub_account(
    session: Session,
    reseller: User,
    sub_id: int | str,
    amount: int,
    *,
    key: str | None = None,
    ip: str = "",
) -> int:
    """Move unspent money back from a sub-account to the reseller; the sub's new balance."""
    return _transfer(session, reseller, sub_id, amount, funding=False, key=key, ip=ip)


def _transfer(
    session: Session,
    reseller: User,
    sub_id: int | str,
    amount: int,
    *,
    funding: bool,
    key: str | None,
    ip: str,
) -> int:
    """One balanced move between a reseller's wallet and a customer's, either way."""
    sub = get_sub_account(session, reseller, sub_id)
    amount = _positive(amount)
    reseller_wallet, sub_wallet = wallet_code(reseller.id), wallet_code(sub.id)
    if funding:
        kind, verb, action = "reseller_funding", "funds", "reseller.fund"
        entries = [(reseller_wallet, -amount), (sub_wallet, amount)]
    else:
        kind, verb, action = "reseller_reclaim", "reclaims from", "reseller.reclaim"
        entries = [(sub_wallet, -amount), (reseller_wallet, amount)]
    post_transaction(
        session, kind, entries, key=key, memo=f"reseller {reseller.id} {verb} user {sub.id}"
    )
    audit(session, action, user_id=reseller.id, ip=ip, detail=f"user {sub.id} {amount}")
    return balance(session, sub_wallet)


def set_sub_account_suspended(
    session: Session, reseller: User, sub_id: int | str, suspended: bool, *, ip: str = ""
) -> User:
    """A reseller suspends (or lifts its own suspension of) one of its customers."""
    sub = get_sub_account(session, reseller, sub_id)
    sub.is_suspended = suspended
    session.flush()
    action = "reseller.suspend" if suspended else "reseller.unsuspend"
    audit(session, action, user_id=reseller.id, ip=ip, detail=f"user {sub.id}")
    return sub


def create_sub_account_key(
    session: Session, reseller: User, sub_id: int | str, name: str = ""
) -> tuple[ApiKey, str]:
    """An API key for the sub-account (shown once), so the reseller can hand it over."""
    sub = get_sub_account(session, reseller, sub_id)
    return create_api_key(session, sub, name)


# ---- prices -----------------------------------------------------------------------------


def _markup(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MARKUP:
        raise InvalidInput(f"{name} must be a whole number of minor units from 0 to {MAX_MARKUP}")
    return value


def set_price(
    session: Session,
    reseller: User,
    service_name: str,
    *,
    markup: int,
    rental_day_markup: int = 0,
    ip: str = "",
) -> ResellerPrice:
    """The reseller's markup for a service: its customers pay our price plus this."""
    _require_reseller(session, reseller)
    service = get_service(session, service_name)
    markup = _markup(markup, "markup")
    rental_day_markup = _markup(rental_day_markup, "rental_day_markup")
    row = session.scalar(
        select(ResellerPrice).where(
            ResellerPrice.reseller_id == reseller.id, ResellerPrice.service_id == service.id
        )
    )
    if row is None:
        row = ResellerPrice(reseller_id=reseller.id, service_id=service.id)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # a concurrent first setting won: update that one
            row = session.scalars(
                select(ResellerPrice).where(
                    ResellerPrice.reseller_id == reseller.id,
                    ResellerPrice.service_id == service.id,
                )
            ).one()
    row.markup, row.rental_day_markup = markup, rental_day_markup
    session.flush()
    audit(
        session,
        "reseller.price",
        user_id=reseller.id,
        ip=ip,
        detail=f"{service.name}: +{markup}, +{rental_day_markup}/day",
    )
    return row


def price_list(session: Session, reseller: User) -> list[tuple[Service, int, int]]:
    """Every active service with the reseller's markup (0 when unset)."""
    _require_reseller(session, reseller)
    markups = {
        row.service_id: row
        for row in session.scalars(
            select(ResellerPrice).where(ResellerPrice.reseller_id == reseller.id)
        )
    }
    services = session.scalars(select(Service).where(Service.active).order_by(Service.name))
    out = []
    for service in services:
        row = markups.get(service.id)
        out.append((service, row.markup if row else 0, row.rental_day_markup if row else 0))
    return out


def quote(
    session: Session, user: User, service: Service, kind: str, base_price: int, days: int = 1
) -> Quote:
    """The price ``user`` pays for ``service``: ours, plus its reseller's markup if any.

    Raises :class:`AccountSuspended` when the account's reseller is suspended.
    """
    parent = reseller_of(session, user.id)
    if parent is None:
        return Quote(base_price)
    row = session.execute(
        select(User.is_suspended, Reseller.enabled)
        .join(Reseller, Reseller.user_id == User.id, isouter=True)
        .where(User.id == parent)
    ).one()
    if row.is_suspended:
        raise AccountSuspended("the reseller of this account is suspended")
    if not row.enabled:  # reseller status withdrawn: its customers pay our price
        return Quote(base_price)
    price = session.scalar(
        select(ResellerPrice).where(
            ResellerPrice.reseller_id == parent, ResellerPrice.service_id == service.id
        )
    )
    if price is None:
        return Quote(base_price, 0, parent)
    markup = price.markup if kind == ACTIVATION else price.rental_day_markup * int(days)
    return Quote(base_price, markup, parent)


def record_share(session: Session, order: Order, quote: Quote) -> None:
    """Remember the split of a sub-account order, for its settlement."""
    if quote.reseller_id is not None:
        session.add(
            ResellerShare(
                order_id=order.id,
                reseller_id=quote.reseller_id,
                base_price=quote.base_price,
                markup=quote.markup,
            )
        )
        session.flush()


def paid_entries(buyer_id: int, quote: Quote, target: str) -> list[tuple[str, int]]:
    """Ledger entries of a purchase: the buyer pays ``quote.charged``.

    ``target`` ESCROW holds all of it until the order settles; REVENUE (a rental or an
    extension: final at once) takes our price and the reseller its markup right away.
    """
    entries = [(wallet_code(buyer_id), -quote.charged)]
    if target == ESCROW or quote.reseller_id is None:
        return [*entries, (target, quote.charged)]
    return [*entries, (REVENUE, quote.base_price), (wallet_code(quote.reseller_id), quote.markup)]


def settle_entries(
    session: Session, orders: Sequence[OrderRef]
) -> dict[int, list[tuple[str, int]]]:
    """Escrow to the earners when activations complete: REVENUE ours, reseller markup.

    One query for the whole batch, keyed by order id.
    """
    shares = {
        row.order_id: row
        for row in session.connection().execute(
            _SHARES, {"order_ids": [order.id for order in orders]}
        )
    }
    entries: dict[int, list[tuple[str, int]]] = {}
    for order in orders:
        share = shares.get(order.id)
        if share is None:
            entries[order.id] = [(ESCROW, -order.price), (REVENUE, order.price)]
            continue
        entries[order.id] = [
            (ESCROW, -order.price),
            (REVENUE, order.price - share.markup),
            (wallet_code(share.reseller_id), share.markup),
        ]
    return entries


# ---- what the reseller sees -------------------------------------------------------------


def sub_account_orders(
    session: Session,
    reseller: User,
    *,
    sub_id: int | str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[Order]:
    """Orders of the reseller's customers (or one of them), newest first, keyset by id."""
    _require_reseller(session, reseller)
    query = (
        select(Order)
        .join(SubAccount, SubAccount.user_id == Order.user_id)
        .where(SubAccount.reseller_id == reseller.id)
    )
    if sub_id is not None:
        query = query.where(Order.user_id == get_sub_account(session, reseller, sub_id).id)
    if before is not None:
        query = query.where(Order.id < before)
    return list(session.scalars(query.order_by(Order.id.desc()).limit(max(1, min(limit, 200)))))


@dataclass(frozen=True)
class Spending:
    user_id: int
    email: str
    balance: int
    orders: int
    spent: int  # charged for orders that were not refunded
    markup_earned: int


def spending(session: Session, reseller: User) -> list[Spending]:
    """Per sub-account: balance, orders, money spent (net of refunds) and markup earned."""
    subs = list_sub_accounts(session, reseller)
    ids = [user.id for user, _ in subs]
    if not ids:
        return []
    spent = dict(
        session.execute(
            select(Order.user_id, func.coalesce(func.sum(Order.price - Order.refunded), 0))
            .where(Order.user_id.in_(ids))
            .group_by(Order.user_id)
        ).all()
    )
    counts = dict(
        session.execute(
            select(Order.user_id, func.count())
            .where(Order.user_id.in_(ids))
            .group_by(Order.user_id)
        ).all()
    )
    # Earned = what actually reached the reseller's wallet from these customers' orders
    # (completed activations, rentals, extensions): the ledger is the truth, not the shares.
    reseller_wallet = account_id(session, wallet_code(reseller.id))
    earned = dict(
        session.execute(
            select(Order.user_id, func.coalesce(func.sum(LedgerEntry.amount), 0))
            .join(LedgerTransaction, LedgerTransaction.order_id == Order.id)
            .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
            .where(Order.user_id.in_(ids), LedgerEntry.account_id == reseller_wallet)
            .group_by(Order.user_id)
        ).all()
    )
    return [
        Spending(
            user_id=user.id,
            email=user.email,
            balance=balance(session, wallet_code(user.id)),
            orders=int(counts.get(user.id, 0)),
            spent=int(spent.get(user.id, 0)),
            markup_earned=int(earned.get(user.id, 0)),
        )
        for user, _ in subs
    ]
