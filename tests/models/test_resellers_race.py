"""Reseller ledger under concurrent purchases: threads released by a barrier, real commits."""

from __future__ import annotations

import threading

from models import ledger, orders, resellers, users
from models.errors import InsufficientFunds
from models.invariants import check_order_settlements
from models.mail import InboundMessage, deliver, deliver_many
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


def test_concurrent_batches_settling_for_two_resellers_while_they_fund(clean_db):
    """SMTP batches settle many orders in one post; funding runs at the same time.

    Each batch moves escrow, revenue and both resellers' wallets, in one pass in account
    order, so two committers (two SMTP processes) and the resellers' own funding never wait
    on each other in a cycle (on PostgreSQL a deadlock would abort one of them).
    """
    batches, per_batch = 6, 4
    with clean_db.transaction() as s:
        make_catalog(s)
        admin = make_user(s, credit=0, is_admin=True)
        pairs = []  # (reseller id, sub-account id)
        for n in range(2):
            reseller = make_user(s, credit=100_000)
            resellers.set_reseller(s, admin, reseller.id, True)
            resellers.set_price(s, reseller, "any", markup=30 + n)
            sub = resellers.create_sub_account(s, reseller, f"batch{n}@example.com")
            resellers.fund_sub_account(s, reseller, sub.id, (130 + n) * batches * per_batch)
            pairs.append((reseller.id, sub.id))
        emails: list[list[str]] = [[], []]
        for n, (_, sub_id) in enumerate(pairs):
            for _ in range(batches * per_batch):
                emails[n].append(orders.purchase(s, s.get(users.User, sub_id), "any").email)

    def mail_to(email: str) -> InboundMessage:
        return InboundMessage(
            raw=b"x", mail_from="a@b.c", rcpt_tos=(email,), code="123456", searchable_text="x"
        )

    def committer(first: int):  # type: ignore[no-untyped-def]
        # Half the orders of each reseller, interleaved, the two committers in opposite order.
        def act() -> None:
            mine = [
                emails[(first + k) % 2][i] for i in range(first, len(emails[0]), 2) for k in (0, 1)
            ]
            for start in range(0, len(mine), per_batch):
                with clean_db.transaction() as s:
                    deliver_many(s, [mail_to(e) for e in mine[start : start + per_batch]])

        return act

    def funder(reseller_id: int, sub_id: int):  # type: ignore[no-untyped-def]
        def act() -> None:
            for _ in range(batches * 2):
                with clean_db.transaction() as s:
                    resellers.fund_sub_account(s, s.get(users.User, reseller_id), sub_id, 1)

        return act

    actions = [committer(0), committer(1), *(funder(r, sub) for r, sub in pairs)]
    assert _run_all(actions) == [None] * len(actions)
    with clean_db.read() as s:
        assert ledger.check_invariants(s) == []
        assert check_order_settlements(s) == []
        assert ledger.balance(s, ledger.ESCROW) == 0
        total = batches * per_batch
        assert ledger.balance(s, ledger.REVENUE) == 2 * total * 100
        for n, (reseller_id, _) in enumerate(pairs):
            start = 100_000 - (130 + n) * total - batches * 2
            assert ledger.balance(s, f"wallet:{reseller_id}") == start + total * (30 + n)
