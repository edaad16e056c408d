"""A stateful property test of the money rules (Jepsen's bank checker, in Hypothesis).

Random sequences of top-ups, purchases, deliveries, cancels, expiries, reorders and
rental extensions run against the real domain functions; after every step the
invariants are checked against the database:

I1 each balance equals the sum of its entries   I2 no wallet or escrow below zero
I3 a terminal activation state never changes    I4 no order both completed and refunded
I5 at most one settlement per order              I6 all entries sum to zero
I7 escrow holds exactly the prices of the waiting activations
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ledger, mail, orders
from models.base import utcnow
from models.errors import DomainError
from models.mail import InboundMessage
from tests.factories import make_catalog, make_user

TERMINAL = {"completed", "canceled", "expired"}


class LedgerMachine(RuleBasedStateMachine):
    users = Bundle("users")
    activations = Bundle("activations")

    def __init__(self) -> None:
        super().__init__()
        conn = self.engine.connect()
        self.trans = conn.begin()
        self.conn = conn
        self.session = Session(bind=conn, join_transaction_mode="create_savepoint")
        make_catalog(self.session)
        self.now = utcnow()
        self.terminal: dict[int, str] = {}

    engine = None  # set by the test below

    def teardown(self) -> None:
        self.session.close()
        self.trans.rollback()
        self.conn.close()

    def _attempt(self, action):  # type: ignore[no-untyped-def]
        """Run one domain operation as one unit of work (a savepoint here)."""
        try:
            with self.session.begin_nested():
                return action()
        except DomainError:
            return None

    @initialize(target=users)
    def first_user(self):  # type: ignore[no-untyped-def]
        return make_user(self.session, credit=300)

    @rule(target=users, credit=st.integers(0, 500))
    def new_user(self, credit):  # type: ignore[no-untyped-def]
        return make_user(self.session, credit=credit)

    @rule(user=users, amount=st.integers(1, 400))
    def top_up(self, user, amount):  # type: ignore[no-untyped-def]
        ledger.post_transaction(
            self.session, "deposit", [(ledger.DEPOSITS, -amount), (user.wallet, amount)]
        )

    @rule(target=activations, user=users, service=st.sampled_from(["any", "discord"]))
    def buy(self, user, service):  # type: ignore[no-untyped-def]
        order = self._attempt(lambda: orders.purchase(self.session, user, service, now=self.now))
        return order if order is not None else multiple()

    @rule(user=users, days=st.integers(1, 3))
    def rent(self, user, days):  # type: ignore[no-untyped-def]
        rental = self._attempt(
            lambda: orders.purchase(
                self.session, user, "discord", kind="rental", days=days, now=self.now
            )
        )
        if rental is not None:
            self._attempt(
                lambda: orders.extend_rental(self.session, user, rental.id, 1, now=self.now)
            )

    @rule(order=activations, code=st.sampled_from(["123456", None]))
    def mail_arrives(self, order, code):  # type: ignore[no-untyped-def]
        message = InboundMessage(
            raw=b"x",
            mail_from="noreply@discord.com",
            rcpt_tos=(order.email,),
            code=code,
            searchable_text="",
        )
        self._attempt(lambda: mail.deliver(self.session, message, now=self.now))

    @rule(order=activations)
    def cancel(self, order):  # type: ignore[no-untyped-def]
        user = self.session.get(orders.User, order.user_id)
        self._attempt(lambda: orders.cancel(self.session, user, order.id, now=self.now))

    @rule(order=activations)
    def reorder(self, order):  # type: ignore[no-untyped-def]
        user = self.session.get(orders.User, order.user_id)
        self._attempt(lambda: orders.reorder(self.session, user, order.id, now=self.now))

    @rule(minutes=st.integers(1, 30))
    def time_passes_and_worker_sweeps(self, minutes):  # type: ignore[no-untyped-def]
        self.now += timedelta(minutes=minutes)
        self._attempt(lambda: orders.expire_due(self.session, now=self.now))

    @invariant()
    def ledger_invariants_hold(self) -> None:
        assert ledger.check_invariants(self.session) == []  # I1, I2, I6

    @invariant()
    def each_order_settles_once_and_terminal_states_stick(self) -> None:
        for order in self.session.scalars(select(orders.Order)):
            self.session.refresh(order)
            settlements = self.session.scalar(
                select(func.count())
                .select_from(ledger.LedgerTransaction)
                .where(ledger.LedgerTransaction.key == f"settle:{order.id}")
            )
            assert settlements <= 1  # I5
            assert not (order.status == "completed" and order.refunded)  # I4
            if order.kind == "activation" and order.status in TERMINAL:
                before = self.terminal.setdefault(order.id, order.status)
                assert before == order.status  # I3
                assert settlements == (1 if order.price else 0)

    @invariant()
    def escrow_holds_exactly_the_waiting_prices(self) -> None:
        waiting = self.session.scalar(
            select(func.coalesce(func.sum(orders.Order.price), 0)).where(
                orders.Order.status == "waiting"
            )
        )
        assert ledger.balance(self.session, ledger.ESCROW) == waiting  # I7


def test_ledger_state_machine(db):  # type: ignore[no-untyped-def]
    LedgerMachine.engine = db.engine
    runner = LedgerMachine.TestCase
    runner.settings = settings(
        max_examples=40,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    runner().runTest()
