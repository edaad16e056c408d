"""Money in and out of wallets: deposits and withdrawals, all through the ledger.

Deposits are credited only when confirmed: an admin approves a manual transfer, or
the payment provider's signed webhook reports it. Each credit is the ledger key
``deposit:<id>`` and each provider transaction id is unique, so a webhook delivered
twice credits once. A deposit below the minimum is stored as rejected, never credited.

A withdrawal moves its amount from the wallet into WITHDRAWALS at once (so it cannot be
spent twice), then exactly one of: paid (the fee to FEES, the rest out of the system
through DEPOSITS, the clearing account with the outside world) or rejected (back to the
wallet). Both settle under the ledger key ``withdrawal:<id>:settle``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .audit import audit
from .base import Base, utcnow
from .errors import AccountSuspended, Conflict, InvalidInput, NotFound
from .ledger import DEPOSITS, FEES, WITHDRAWALS, post_transaction, wallet_code
from .users import User

PENDING, CREDITED, REJECTED, PAID = "pending", "credited", "rejected", "paid"
MANUAL, PROVIDER = "manual", "provider"
REFERENCE_PREFIX = "OIB"


class Deposit(Base):
    __tablename__ = "deposits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(16))
    # What the customer wrote on the bank transfer, for the admin to match it.
    reference: Mapped[str] = mapped_column(String(128), default="")
    provider_txn_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Withdrawal(Base):
    __tablename__ = "withdrawals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # taken from the wallet
    fee: Mapped[int] = mapped_column(BigInteger)
    destination: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def payout(self) -> int:
        return self.amount - self.fee


# ---- deposits ---------------------------------------------------------------------------


def deposit_reference(user_id: int) -> str:
    """The reference a customer puts on a payment so that it reaches their wallet."""
    return f"{REFERENCE_PREFIX}{user_id}"


def user_id_for_reference(reference: str) -> int | None:
    ref = (reference or "").strip().upper()
    if ref.startswith(REFERENCE_PREFIX) and ref[len(REFERENCE_PREFIX) :].isdigit():
        return int(ref[len(REFERENCE_PREFIX) :])
    return None


def _amount(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput("the amount must be a positive whole number of minor units")
    return value


def _credit(session: Session, deposit: Deposit) -> None:
    post_transaction(
        session,
        "deposit",
        [(DEPOSITS, -deposit.amount), (wallet_code(deposit.user_id), deposit.amount)],
        key=f"deposit:{deposit.id}",
        memo=f"{deposit.method} deposit {deposit.reference or deposit.provider_txn_id or ''}",
    )


def request_deposit(
    session: Session, user: User, amount: int, reference: str, *, minimum: int, ip: str = ""
) -> Deposit:
    """A manual transfer announced by the customer, waiting for an admin to see the money."""
    amount = _amount(amount)
    reference = (reference or "").strip()
    if not reference or len(reference) > 128:
        raise InvalidInput("give the reference of your transfer (at most 128 characters)")
    below = amount < minimum
    deposit = Deposit(
        user_id=user.id,
        amount=amount,
        method=MANUAL,
        reference=reference,
        status=REJECTED if below else PENDING,
        reason=f"below the minimum deposit of {minimum}" if below else "",
        decided_at=utcnow() if below else None,
    )
    session.add(deposit)
    session.flush()
    audit(session, "deposit.requested", user_id=user.id, ip=ip, detail=f"#{deposit.id} {amount}")
    return deposit


def _decide_deposit(session: Session, deposit_id: int, admin: User, status: str, reason: str):  # type: ignore[no-untyped-def]
    done = session.execute(
        update(Deposit)
        .where(Deposit.id == deposit_id, Deposit.status == PENDING)
        .values(status=status, reason=reason, decided_at=utcnow(), decided_by=admin.id)
        .execution_options(synchronize_session=False)
    )
    deposit = session.get(Deposit, deposit_id, populate_existing=True)
    if deposit is None:
        raise NotFound("no such deposit")
    if done.rowcount != 1:
        raise Conflict(f"the deposit is already {deposit.status}")
    return deposit


def approve_deposit(session: Session, deposit_id: int, admin: User, *, ip: str = "") -> Deposit:
    deposit = _decide_deposit(session, deposit_id, admin, CREDITED, "")
    _credit(session, deposit)
    audit(
        session,
        "admin.deposit.approve",
        user_id=admin.id,
        ip=ip,
        detail=f"#{deposit.id} {deposit.amount} to user {deposit.user_id}",
    )
    return deposit


def reject_deposit(
    session: Session, deposit_id: int, admin: User, reason: str, *, ip: str = ""
) -> Deposit:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why the deposit is rejected")
    deposit = _decide_deposit(session, deposit_id, admin, REJECTED, reason)
    audit(session, "admin.deposit.reject", user_id=admin.id, ip=ip, detail=f"#{deposit.id}")
    return deposit


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of ``X-Payment-Signature: sha256=<hex HMAC-SHA256 of the body>``."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def provider_deposit(
    session: Session, *, txn_id: str, amount: int, reference: str, minimum: int
) -> tuple[Deposit, bool]:
    """Record a payment the provider confirmed; ``(deposit, created)``.

    The same provider transaction id always yields the same deposit and one credit,
    however often (or concurrently) the webhook is delivered.
    """
    txn_id = (txn_id or "").strip()
    if not txn_id or len(txn_id) > 128:
        raise InvalidInput("a provider transaction id is required")
    amount = _amount(amount)
    user_id = user_id_for_reference(reference)
    if user_id is None or session.get(User, user_id) is None:
        raise NotFound("no account has this payment reference")
    existing = session.scalar(select(Deposit).where(Deposit.provider_txn_id == txn_id))
    if existing is not None:
        return _same_payment(existing, user_id, amount), False
    below = amount < minimum
    deposit = Deposit(
        user_id=user_id,
        amount=amount,
        method=PROVIDER,
        reference=reference.strip()[:128],
        provider_txn_id=txn_id,
        status=REJECTED if below else CREDITED,
        reason=f"below the minimum deposit of {minimum}" if below else "",
        decided_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(deposit)
            session.flush()
    except IntegrityError:  # a concurrent delivery of the same webhook won
        existing = session.scalar(select(Deposit).where(Deposit.provider_txn_id == txn_id))
        if existing is None:
            raise
        return _same_payment(existing, user_id, amount), False
    if not below:
        _credit(session, deposit)
    audit(session, "deposit.provider", user_id=user_id, detail=f"#{deposit.id} {txn_id} {amount}")
    return deposit, True


def _same_payment(deposit: Deposit, user_id: int, amount: int) -> Deposit:
    if deposit.user_id != user_id or deposit.amount != amount:
        raise Conflict("this provider transaction id was reported with other details")
    return deposit


def deposits_for(session: Session, user: User, *, limit: int = 50) -> list[Deposit]:
    return list(
        session.scalars(
            select(Deposit)
            .where(Deposit.user_id == user.id)
            .order_by(Deposit.id.desc())
            .limit(limit)
        )
    )


def pending_deposits(session: Session, *, limit: int = 200) -> list[Deposit]:
    return list(
        session.scalars(
            select(Deposit).where(Deposit.status == PENDING).order_by(Deposit.id).limit(limit)
        )
    )


# ---- withdrawals ------------------------------------------------------------------------


def withdrawal_fee(amount: int, fee_percent: int) -> int:
    """The fee, rounded up to a whole minor unit (the fee is never under-collected)."""
    return -(-amount * fee_percent // 100)


def request_withdrawal(
    session: Session,
    user: User,
    amount: int,
    destination: str,
    *,
    minimum: int,
    fee_percent: int,
    ip: str = "",
) -> Withdrawal:
    """Hold ``amount`` from the wallet until an admin pays or rejects the withdrawal."""
    if user.is_suspended:
        raise AccountSuspended("a suspended account's balance is frozen")
    amount = _amount(amount)
    if amount < minimum:
        raise InvalidInput(f"the minimum withdrawal is {minimum}")
    destination = (destination or "").strip()
    if not destination or len(destination) > 255:
        raise InvalidInput("say where the money should go (at most 255 characters)")
    withdrawal = Withdrawal(
        user_id=user.id,
        amount=amount,
        fee=withdrawal_fee(amount, fee_percent),
        destination=destination,
        status=PENDING,
    )
    session.add(withdrawal)
    session.flush()
    post_transaction(
        session,
        "withdrawal_hold",
        [(wallet_code(user.id), -amount), (WITHDRAWALS, amount)],
        key=f"withdrawal:{withdrawal.id}:hold",
        memo=f"withdrawal #{withdrawal.id} requested",
    )
    audit(session, "withdrawal.requested", user_id=user.id, ip=ip, detail=f"#{withdrawal.id}")
    return withdrawal


def _decide_withdrawal(
    session: Session, withdrawal_id: int, admin: User, status: str, reason: str
) -> Withdrawal:
    done = session.execute(
        update(Withdrawal)
        .where(Withdrawal.id == withdrawal_id, Withdrawal.status == PENDING)
        .values(status=status, reason=reason, decided_at=utcnow(), decided_by=admin.id)
        .execution_options(synchronize_session=False)
    )
    withdrawal = session.get(Withdrawal, withdrawal_id, populate_existing=True)
    if withdrawal is None:
        raise NotFound("no such withdrawal")
    if done.rowcount != 1:
        raise Conflict(f"the withdrawal is already {withdrawal.status}")
    return withdrawal


def pay_withdrawal(
    session: Session, withdrawal_id: int, admin: User, *, ip: str = ""
) -> Withdrawal:
    w = _decide_withdrawal(session, withdrawal_id, admin, PAID, "")
    post_transaction(
        session,
        "withdrawal_paid",
        [(WITHDRAWALS, -w.amount), (FEES, w.fee), (DEPOSITS, w.payout)],
        key=f"withdrawal:{w.id}:settle",
        memo=f"withdrawal #{w.id} paid: {w.payout} sent, fee {w.fee}",
    )
    audit(session, "admin.withdrawal.pay", user_id=admin.id, ip=ip, detail=f"#{w.id} {w.payout}")
    return w


def reject_withdrawal(
    session: Session, withdrawal_id: int, admin: User, reason: str, *, ip: str = ""
) -> Withdrawal:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why the withdrawal is rejected")
    w = _decide_withdrawal(session, withdrawal_id, admin, REJECTED, reason)
    post_transaction(
        session,
        "withdrawal_returned",
        [(WITHDRAWALS, -w.amount), (wallet_code(w.user_id), w.amount)],
        key=f"withdrawal:{w.id}:settle",
        memo=f"withdrawal #{w.id} rejected: {reason}",
    )
    audit(session, "admin.withdrawal.reject", user_id=admin.id, ip=ip, detail=f"#{w.id}")
    return w


def withdrawals_for(session: Session, user: User, *, limit: int = 50) -> list[Withdrawal]:
    return list(
        session.scalars(
            select(Withdrawal)
            .where(Withdrawal.user_id == user.id)
            .order_by(Withdrawal.id.desc())
            .limit(limit)
        )
    )


def pending_withdrawals(session: Session, *, limit: int = 200) -> list[Withdrawal]:
    return list(
        session.scalars(
            select(Withdrawal)
            .where(Withdrawal.status == PENDING)
            .order_by(Withdrawal.id)
            .limit(limit)
        )
    )
