"""Reseller ledger under concurrent purchases: threads released by a barrier, real commits."""

from __future__ import annotations

import threading

from models import ledger, orders, resellers, users
from models.errors import InsufficientFunds
from models.invariants import check_order_settlements
from models.mail import InboundMessage, deliver
from tests.factories import make_catalog, make_user

BUYERS = 4
ROUNDS = 6  # purchases per buyer


def _run_all(actions):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(actions))
    errors: list[BaseException | None] = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait()
        try:
            actions[i]()
        except BaseException as exc:  # asserted by the caller
            errors[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_concurrent_sub_account_purchases_keep_the_books_balanced(clean_db):
    with clean_db.transaction() as s:
        make_catalog(s)
        admin = make_user(s, credit=0, is_admin=True)
        reseller = make_user(s, credit=100_000)
        resellers.set_reseller(s, admin, reseller.id, True)
        resellers.set_price(s, reseller, "any", markup=30)
        subs = []
        for i in range(BUYERS):
            sub = resellers.create_sub_account(s, reseller, f"race{i}@example.com")
            # 650 covers the 3 completed (390) with room to spare: canceled ones come back.
            resellers.fund_sub_account(s, reseller, sub.id, 5 * 130)
            subs.append(sub.id)
        reseller_id = reseller.id

    bought: dict[int, list[int]] = {sid: [] for sid in subs}
    refused: list[int] = []
    lock = threading.Lock()

    def buyer(sid: int):  # type: ignore[no-untyped-def]
        # Each step is its own unit of work, as in production: the API buys, the SMTP
        # daemon completes, the API cancels.
        def act() -> None:
            for n in range(ROUNDS):
                try:
                    with clean_db.transaction() as s:
                        order = orders.purchase(s, s.get(users.User, sid), "any")
                        oid, email = order.id, order.email
                except InsufficientFunds:
                    with lock:
                        refused.append(sid)
                    continue
                with clean_db.transaction() as s:
                    if n % 2 == 0:  # every other one completes, the rest get canceled
                        deliver(
                            s,
                            InboundMessage(
                                raw=b"x",
                                mail_from="a@b.c",
                                rcpt_tos=(email,),
                                code="999999",
                                searchable_text="x",
                            ),
                        )
                    else:
                        orders.cancel(s, s.get(users.User, sid), oid)
                with lock:
                    bought[sid].append(oid)

        return act

    # The reseller funds a customer at the same time: its wallet is touched concurrently too.
    def funder() -> None:
        for _ in range(ROUNDS):
            with clean_db.transaction() as s:
                resellers.fund_sub_account(s, s.get(users.User, reseller_id), subs[0], 1)

    assert _run_all([buyer(sid) for sid in subs] + [funder]) == [None] * (BUYERS + 1)

    with clean_db.read() as s:
        assert ledger.check_invariants(s) == []
        assert check_order_settlements(s) == []
        assert ledger.balance(s, ledger.ESCROW) == 0
        completed = sum(
            1
            for sid in subs
            for oid in bought[sid]
            if s.get(orders.Order, oid).status == orders.COMPLETED
        )
        assert completed == BUYERS * ((ROUNDS + 1) // 2)
        # Canceled orders are refunded, so every purchase succeeded: 3 completed x 130.
        assert all(len(bought[sid]) == ROUNDS for sid in subs) and not refused
        markup = ledger.balance(s, f"wallet:{reseller_id}") - (100_000 - BUYERS * 650 - ROUNDS)
        assert markup == completed * 30
        assert ledger.balance(s, ledger.REVENUE) == completed * 100
        for i, sid in enumerate(subs):
            extra = ROUNDS if i == 0 else 0
            assert ledger.balance(s, f"wallet:{sid}") == 650 + extra - 3 * 130
