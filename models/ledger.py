"""Double-entry wallet ledger in integer minor units.

Every movement of money is one :class:`LedgerTransaction` whose entries sum to zero.
Account balances are a cache of the sum of their entries, kept in the same
transaction; ``otpinbox ledger check`` recomputes them. A wallet (or any account
that may not go negative) is debited by a conditional UPDATE, so two concurrent
purchases can never both spend the same money, and a CHECK constraint backs it up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, utcnow
from .errors import InsufficientFunds, UnbalancedTransaction

# System accounts: money that is not any customer's.
ESCROW = "escrow"  # activation prices held until the order settles
REVENUE = "revenue"  # earned: completed activations, rentals
DEPOSITS = "deposits"  # clearing account for money coming in from outside
WITHDRAWALS = "withdrawals"  # payable to customers who asked for a withdrawal
FEES = "fees"  # withdrawal fees earned
ADJUSTMENTS = "adjustments"  # admin credits/debits, forfeitures

SYSTEM_ACCOUNTS = {
    ESCROW: False,
    REVENUE: False,
    DEPOSITS: True,  # counterpart of money entering the system: goes negative
    WITHDRAWALS: False,
    FEES: False,
    ADJUSTMENTS: True,
}


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (CheckConstraint("allow_negative OR balance >= 0", name="non_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "wallet:<user id>" for customer wallets, the constant names above for system accounts.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # A unique business key makes a movement happen at most once, whatever the code
    # above does: "purchase:17", "settle:17" (completion OR refund of order 17), ...
    key: Mapped[str | None] = mapped_column(String(128), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    memo: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="transaction", order_by="LedgerEntry.id"
    )


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")


def wallet_code(user_id: int) -> str:
    return f"wallet:{user_id}"


def account_id(session: Session, code: str) -> int:
    """The id of a system account or a wallet, created on first use (race-free)."""
    return account_ids(session, [code])[code]


# Built once: these run several times per delivery on the SMTP hot path.
_IDS_BY_CODE = select(LedgerAccount.code, LedgerAccount.id).where(
    LedgerAccount.code.in_(bindparam("codes", expanding=True))
)
_AMOUNT = bindparam("amount", type_=BigInteger)
_accounts = LedgerAccount.__table__.c
# Core statements on the tables: no ORM bookkeeping for rows no session holds.
_MOVE = (
    update(LedgerAccount.__table__)
    .where(
        _accounts.id == bindparam("account", type_=Integer),
        _accounts.allow_negative | (_accounts.balance + _AMOUNT >= 0),
    )
    .values(balance=_accounts.balance + _AMOUNT)
)
_ADD_ENTRIES = insert(LedgerEntry.__table__)
# Several transactions in one multi-row INSERT; ids come back in parameter order.
_ADD_TRANSACTIONS = insert(LedgerTransaction.__table__).returning(
    LedgerTransaction.__table__.c.id, sort_by_parameter_order=True
)


def account_ids(session: Session, codes: Iterable[str]) -> dict[str, int]:
    """Ids of several accounts in one query, creating the missing ones (race-free)."""
    wanted = set(codes)
    connection = session.connection()
    found = dict(connection.execute(_IDS_BY_CODE, {"codes": list(wanted)}).all())
    missing = wanted - found.keys()
    for code in missing:
        if code.startswith("wallet:"):
            values = {"code": code, "user_id": int(code.split(":", 1)[1]), "allow_negative": False}
        else:
            values = {"code": code, "allow_negative": SYSTEM_ACCOUNTS[code]}
        session.execute(_insert_ignore(session).values(**values, balance=0))
    if missing:
        found.update(connection.execute(_IDS_BY_CODE, {"codes": list(missing)}).all())
    return found


def _insert_ignore(session: Session):  # type: ignore[no-untyped-def]
    """INSERT ... ON CONFLICT DO NOTHING for the backend in use."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(LedgerAccount).on_conflict_do_nothing(index_elements=["code"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(LedgerAccount).on_conflict_do_nothing(index_elements=["code"])


@dataclass(frozen=True)
class Posting:
    """One balanced transaction to post: ``(account code, amount)`` entries and its key."""

    entries: Sequence[tuple[str, int]]
    key: str | None = None
    order_id: int | None = None
    memo: str = ""


def post_transaction(
    session: Session,
    kind: str,
    entries: Iterable[tuple[str, int]],
    *,
    key: str | None = None,
    order_id: int | None = None,
    memo: str = "",
) -> int:
    """Post one balanced transaction: ``entries`` are ``(account code, amount)`` pairs.

    Returns the new transaction's id. Raises :class:`UnbalancedTransaction` when the
    amounts do not sum to zero and :class:`InsufficientFunds` when a debit would take an
    account that may not go negative below zero. The caller's unit of work must then roll
    back: balances touched before the failing entry are only undone by that rollback.
    """
    posting = Posting(list(entries), key=key, order_id=order_id, memo=memo)
    return post_transactions(session, kind, [posting])[0]


def post_transactions(session: Session, kind: str, postings: Sequence[Posting]) -> list[int]:
    """Post several balanced transactions of one kind at once; returns their ids in order.

    The SMTP daemon settles a whole batch of completed orders this way: one multi-row
    INSERT for the transactions and one for the entries, and each account's balance moved
    once by the net amount of the batch. Each transaction balances on its own and keeps
    its unique key, so exactly-once holds per transaction as with :func:`post_transaction`.
    The checks are those of :func:`post_transaction`; an account that may not go negative
    is checked against its net movement, all in the caller's one unit of work.
    """
    if not postings:
        return []
    checked = [_balanced_lines(posting.entries) for posting in postings]
    session.flush()  # pending ORM changes (the order this is about) go first
    connection = session.connection()
    created_at = utcnow()
    # The unique keys are checked here, before any balance moves.
    txn_ids: list[int] = list(
        connection.execute(
            _ADD_TRANSACTIONS,
            [
                {
                    "kind": kind,
                    "key": posting.key,
                    "order_id": posting.order_id,
                    "memo": posting.memo,
                    "created_at": created_at,
                }
                for posting in postings
            ],
        ).scalars()
    )
    ids = account_ids(session, {code for lines in checked for code, _ in lines})
    net: dict[int, int] = {}
    for lines in checked:
        for code, amount in lines:
            net[ids[code]] = net.get(ids[code], 0) + amount
    # A fixed lock order (by account id) keeps concurrent transactions on PostgreSQL
    # from deadlocking on each other's rows.
    for acct, amount in sorted(net.items()):
        if amount and connection.execute(_MOVE, {"account": acct, "amount": amount}).rowcount != 1:
            raise InsufficientFunds()
    connection.execute(
        _ADD_ENTRIES,
        [
            {"transaction_id": txn_id, "account_id": ids[code], "amount": amount}
            for txn_id, lines in zip(txn_ids, checked, strict=True)
            for code, amount in lines
        ],
    )
    return txn_ids


def _balanced_lines(entries: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """The non-zero entries, checked: integers in minor units that sum to zero."""
    lines = [(code, amount) for code, amount in entries if amount]
    if any(isinstance(amount, bool) or not isinstance(amount, int) for _, amount in lines):
        raise UnbalancedTransaction("amounts must be integers in minor units")
    if not lines or sum(amount for _, amount in lines) != 0:
        raise UnbalancedTransaction(f"entries {lines!r} do not balance")
    return lines


def balance(session: Session, code: str) -> int:
    """The cached balance of an account (0 if it was never used)."""
    return session.scalar(select(LedgerAccount.balance).where(LedgerAccount.code == code)) or 0


def derived_balance(session: Session, code: str) -> int:
    """The balance recomputed from entries: what ``balance`` must always equal."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.code == code)
    )
    return int(total or 0)


def history(
    session: Session, code: str, *, limit: int = 100
) -> list[tuple[LedgerTransaction, int]]:
    """The latest transactions touching an account, with the amount for that account."""
    rows = session.execute(
        select(LedgerTransaction, LedgerEntry.amount)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.code == code)
        .order_by(LedgerTransaction.id.desc())
        .limit(limit)
    )
    return [(txn, amount) for txn, amount in rows]


def check_invariants(session: Session) -> list[str]:
    """Every ledger invariant over the whole database; returns the violations found."""
    problems: list[str] = []
    for txn_id, total in session.execute(
        select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount))
        .group_by(LedgerEntry.transaction_id)
        .having(func.sum(LedgerEntry.amount) != 0)
    ):
        problems.append(f"transaction {txn_id} is unbalanced by {total}")
    sums = dict(
        session.execute(
            select(LedgerEntry.account_id, func.sum(LedgerEntry.amount)).group_by(
                LedgerEntry.account_id
            )
        ).all()
    )
    for acct in session.scalars(select(LedgerAccount)):
        derived = int(sums.get(acct.id, 0) or 0)
        if derived != acct.balance:
            problems.append(f"account {acct.code}: balance {acct.balance} != entries {derived}")
        if not acct.allow_negative and acct.balance < 0:
            problems.append(f"account {acct.code} is negative: {acct.balance}")
    grand_total = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)))
    if grand_total:
        problems.append(f"entries of all accounts sum to {grand_total}, not 0")
    return problems
