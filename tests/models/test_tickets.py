"""Support tickets: ownership, the deposit report window, attachments, statuses, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import orders, payments, tickets
from models.audit import AuditEvent
from models.errors import Conflict, InvalidInput, NotFound
from tests.factories import make_user


@pytest.fixture
def admin(session):  # type: ignore[no-untyped-def]
    return make_user(session, credit=0, is_admin=True)


def test_customer_and_staff_take_turns(session, catalog, admin):
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    ticket = tickets.open_ticket(
        session, user, "No code", "Nothing arrived", topic=tickets.ORDER, ref=order.id
    )
    assert ticket.order_id == order.id and ticket.status == tickets.OPEN
    assert tickets.unread_count(session, user) == 0

    tickets.reply(session, admin, ticket.id, "Please try again")
    session.refresh(ticket)
    assert ticket.status == tickets.WAITING
    assert tickets.unread_count(session, user) == 1  # the in-app notification
    tickets.mark_read(session, user, ticket)
    assert tickets.unread_count(session, user) == 0

    tickets.reply(session, user, ticket.id, "Worked, thanks")
    session.refresh(ticket)
    assert ticket.status == tickets.OPEN
    tickets.set_status(session, admin, ticket.id, tickets.RESOLVED)
    actions = {e.action for e in session.query(AuditEvent).filter_by(user_id=admin.id)}
    assert {"admin.ticket.reply", "admin.ticket.resolved"} <= actions
    assert [m.from_staff for m, _ in tickets.messages(session, ticket)] == [False, True, False]


def test_tickets_are_visible_to_owner_and_admins_only(session, catalog, admin):
    owner, other = make_user(session), make_user(session)
    ticket = tickets.open_ticket(
        session,
        owner,
        "Hi",
        "Question",
        uploads=[tickets.Upload("../../etc/passwd", b"secret")],
    )
    assert tickets.get_ticket(session, admin, ticket.id).id == ticket.id
    with pytest.raises(NotFound):
        tickets.get_ticket(session, other, ticket.id)
    with pytest.raises(NotFound):
        tickets.reply(session, other, ticket.id, "me too")
    with pytest.raises(NotFound):
        tickets.set_status(session, other, ticket.id, tickets.RESOLVED)
    ((_, files),) = tickets.messages(session, ticket)
    assert files[0].filename == "passwd"
    with pytest.raises(NotFound):
        tickets.get_attachment(session, other, files[0].id)
    assert tickets.get_attachment(session, owner, files[0].id).content == b"secret"


def test_a_ticket_only_links_the_customers_own_objects(session, catalog):
    owner, other = make_user(session), make_user(session)
    order = orders.purchase(session, other, "any")
    with pytest.raises(NotFound):
        tickets.open_ticket(session, owner, "x", "y", topic=tickets.ORDER, ref=order.id)
    with pytest.raises(InvalidInput):
        tickets.open_ticket(session, owner, "x", "y", topic="refund-me", ref=1)


def test_missing_deposit_must_be_reported_within_the_window(session, catalog):
    user = make_user(session)
    policy = tickets.TicketPolicy(deposit_report_minutes=30)
    deposit = payments.request_deposit(session, user, 500, "bank ref 1", minimum=100)
    now = deposit.created_at
    ticket = tickets.open_ticket(
        session, user, "Not credited", "I paid", topic=tickets.DEPOSIT, ref=deposit.id,
        policy=policy, now=now + timedelta(minutes=29),
    )  # fmt: skip
    assert ticket.deposit_id == deposit.id
    with pytest.raises(Conflict):
        tickets.open_ticket(
            session, user, "Not credited", "I paid", topic=tickets.DEPOSIT, ref=deposit.id,
            policy=policy, now=now + timedelta(minutes=31),
        )  # fmt: skip


def test_credited_deposit_cannot_be_reported_missing(session, catalog, admin):
    user = make_user(session)
    deposit = payments.request_deposit(session, user, 500, "ref", minimum=100)
    payments.approve_deposit(session, deposit.id, admin)
    with pytest.raises(Conflict):
        tickets.open_ticket(session, user, "x", "y", topic=tickets.DEPOSIT, ref=deposit.id)


def test_attachment_limits(session):
    user = make_user(session)
    policy = tickets.TicketPolicy(attachment_max_bytes=10)
    with pytest.raises(InvalidInput):
        tickets.open_ticket(
            session, user, "x", "y", uploads=[tickets.Upload("big.bin", b"x" * 11)], policy=policy
        )
    with pytest.raises(InvalidInput):
        tickets.open_ticket(
            session, user, "x", "y", uploads=[tickets.Upload(f"{i}", b"x") for i in range(4)]
        )


def test_canned_answers_are_saved_once_per_title(session, admin):
    tickets.save_canned_answer(session, admin, "Credited", "We credited it.")
    tickets.save_canned_answer(session, admin, "Credited", "We have credited it.")
    (answer,) = tickets.canned_answers(session)
    assert answer.body == "We have credited it."


def test_safe_filename():
    assert tickets.safe_filename("..\\..\\boot.ini") == "boot.ini"
    assert tickets.safe_filename("a<script>.html") == "a_script_.html"
    assert tickets.safe_filename("...") == "attachment"
