"""models.mail.deliver: store every message, complete what it answers, nothing else."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from models import catalog as catalog_module
from models import ledger, mail, orders
from models.base import utcnow
from models.mail import InboundMessage
from tests.factories import make_user


def inbound(to: str, **kw) -> InboundMessage:  # type: ignore[no-untyped-def]
    fields = {
        "raw": b"From: x\r\n\r\nbody",
        "mail_from": "noreply@discord.com",
        "rcpt_tos": (to,),
        "subject": "Your code",
        "from_header": "Discord <noreply@discord.com>",
        "text": "Your code is 482913",
        "code": "482913",
        "searchable_text": "Your code\nYour code is 482913",
    }
    fields.update(kw)
    return InboundMessage(**fields)


def test_a_matching_message_completes_the_order(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "discord")
    result = mail.deliver(session, inbound(order.email))
    session.refresh(order)
    assert order.status == "completed" and order.code == "482913" and order.value == "482913"
    assert result.completed_order_ids == [order.id]
    assert [m.id for m in mail.messages_for_order(session, order)] == result.message_ids
    assert ledger.balance(session, ledger.REVENUE) == 150


def test_a_message_from_another_sender_is_stored_but_does_not_complete(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "discord")
    mail.deliver(session, inbound(order.email, mail_from="a@b.test", from_header="a@b.test"))
    session.refresh(order)
    assert order.status == "waiting"
    assert len(mail.messages_for_order(session, order)) == 1


def test_a_message_without_code_or_link_does_not_complete(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    mail.deliver(session, inbound(order.email, code=None, link=None))
    session.refresh(order)
    assert order.status == "waiting"


def test_service_subject_pattern_filters(session, catalog):
    catalog_module.add_service(session, "steam", price=10, subject="Steam Guard")
    user = make_user(session)
    order = orders.purchase(session, user, "steam", sender="*")
    mail.deliver(session, inbound(order.email, subject="Welcome"))
    session.refresh(order)
    assert order.status == "waiting"
    mail.deliver(session, inbound(order.email, subject="Your Steam Guard code"))
    session.refresh(order)
    assert order.status == "completed"


def test_a_customer_regex_gives_its_first_match(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any", regex=r"ref-(\w+)")
    mail.deliver(session, inbound(order.email, searchable_text="see ref-AB12 and ref-CD34"))
    session.refresh(order)
    assert order.status == "completed" and order.value == "AB12"


def test_a_regex_that_does_not_match_keeps_the_order_waiting(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any", regex=r"nothing-here-\d+")
    mail.deliver(session, inbound(order.email))
    session.refresh(order)
    assert order.status == "waiting"


def test_a_catastrophic_regex_times_out_instead_of_hanging(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any", regex=r"(a+)+$")
    mail.deliver(session, inbound(order.email, searchable_text="a" * 40 + "!"))
    session.refresh(order)
    assert order.status == "waiting"


def test_raw_bytes_are_kept_even_when_nothing_parsed(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    raw = b"\x00\xff not a mime message"
    result = mail.deliver(
        session, inbound(order.email, raw=raw, code=None, parse_error="boom", text="")
    )
    message = mail.get_message(session, user, result.message_ids[0])
    assert mail.raw_bytes(session, message) == raw and message.parse_error == "boom"


def test_one_message_to_several_of_our_addresses(session, catalog):
    a, b = make_user(session), make_user(session)
    oa, ob = orders.purchase(session, a, "any"), orders.purchase(session, b, "any")
    result = mail.deliver(session, inbound(oa.email, rcpt_tos=(oa.email, ob.email.upper())))
    assert sorted(result.completed_order_ids) == sorted([oa.id, ob.id])
    assert session.scalar(select(func.count()).select_from(mail.RawMessage)) == 1
    assert result.user_ids == {a.id, b.id}


def test_rcpt_check_accepts_only_live_addresses(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    assert mail.accepts_mail(session, order.email)
    assert mail.accepts_mail(session, order.email.upper())
    assert not mail.accepts_mail(session, "nobody@otpinbox.test")
    assert not mail.accepts_mail(session, order.email, now=order.expires_at)
    assert mail.is_our_domain(session, "OTPINBOX.test")
    assert not mail.is_our_domain(session, "gmail.com")
    orders.cancel(session, user, order.id)
    assert not mail.accepts_mail(session, order.email)


def test_a_completed_order_keeps_receiving_until_released(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    mail.deliver(session, inbound(order.email))
    assert mail.accepts_mail(session, order.email)
    second = mail.deliver(session, inbound(order.email, code="999999"))
    session.refresh(order)
    assert order.code == "482913", "a completed order keeps its first code"
    assert len(mail.messages_for_order(session, order)) == 2 and second.completed_order_ids == []
    orders.cancel(session, user, order.id)
    assert not mail.accepts_mail(session, order.email)


def test_rentals_receive_everything_and_show_the_latest_code(session, catalog):
    user = make_user(session)
    rental = orders.purchase(session, user, "any", kind="rental", days=1)
    mail.deliver(session, inbound(rental.email, code="111111"))
    mail.deliver(session, inbound(rental.email, code="222222", mail_from="x@y.test"))
    session.refresh(rental)
    assert rental.status == "active" and rental.code == "222222"
    assert not mail.accepts_mail(session, rental.email, now=utcnow() + timedelta(days=2))


def test_messages_are_scoped_to_their_owner(session, catalog):
    owner, other = make_user(session), make_user(session)
    order = orders.purchase(session, owner, "any")
    result = mail.deliver(session, inbound(order.email))
    assert mail.get_message(session, owner, result.message_ids[0])
    import pytest

    from models.errors import NotFound

    with pytest.raises(NotFound):
        mail.get_message(session, other, result.message_ids[0])


def test_a_batch_has_the_outcome_of_its_messages_one_by_one(session, catalog):
    """deliver_many (the SMTP group commit): the first code completes, a second is kept."""
    user = make_user(session)
    first, other = orders.purchase(session, user, "any"), orders.purchase(session, user, "any")
    batch = [
        inbound(first.email, code="111111"),
        inbound(first.email, code="222222"),
        inbound("nobody@otpinbox.test"),
        inbound(other.email, code="333333"),
    ]
    results = mail.deliver_many(session, batch)
    session.refresh(first)
    session.refresh(other)
    assert [r.completed_order_ids for r in results] == [[first.id], [], [], [other.id]]
    assert first.code == "111111" and first.message_id == results[0].message_ids[0]
    assert other.code == "333333" and results[2].message_ids == []
    kept = mail.messages_for_order(session, first)
    assert [(m.code, m.matched) for m in kept] == [("222222", False), ("111111", True)]
    assert session.scalar(select(func.count()).select_from(mail.RawMessage)) == 4
    settlements = session.scalars(
        select(ledger.LedgerTransaction.key).where(ledger.LedgerTransaction.kind == "settle")
    ).all()
    assert sorted(settlements) == sorted([f"settle:{first.id}", f"settle:{other.id}"])
    assert ledger.balance(session, ledger.REVENUE) == first.price + other.price
    assert ledger.check_invariants(session) == []


def test_a_batch_answers_a_reordered_address_once(session, catalog):
    """Two code mails in one batch to an address whose second order waits: one completes it."""
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    mail.deliver(session, inbound(order.email))
    again = orders.reorder(session, user, order.id)
    results = mail.deliver_many(
        session, [inbound(order.email, code="555555"), inbound(order.email, code="666666")]
    )
    session.refresh(again)
    assert [r.completed_order_ids for r in results] == [[again.id], []]
    assert again.code == "555555"
    assert results[1].touched_order_ids == [again.id]


def test_a_batch_keeps_each_message_s_attachments_and_feeds_rentals(session, catalog):
    user = make_user(session)
    rental = orders.purchase(session, user, "any", kind="rental", days=1)
    order = orders.purchase(session, user, "any")
    pdf = mail.ParsedAttachment("a.pdf", "application/pdf", b"%PDF-1")
    png = mail.ParsedAttachment("b.png", "image/png", b"\x89PNG")
    results = mail.deliver_many(
        session,
        [
            inbound(rental.email, code="111111", attachments=(pdf, png)),
            inbound(order.email, code="222222"),
            inbound(rental.email, code="333333", attachments=(png,)),
        ],
    )
    session.refresh(rental)
    assert rental.status == "active" and rental.code == "333333"
    assert [r.completed_order_ids for r in results] == [[], [order.id], []]
    names = [
        [a.filename for a in mail.get_message(session, user, r.message_ids[0]).attachments]
        for r in results
    ]
    assert names == [["a.pdf", "b.png"], [], ["b.png"]]
    assert all(m.matched for m in mail.messages_for_order(session, rental))


def test_a_message_whose_order_was_canceled_meanwhile_is_kept_unmatched(
    session, catalog, monkeypatch
):
    """The batch read the order as waiting; it was canceled before its conditional UPDATE."""
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    monkeypatch.setattr(mail, "complete_many", lambda *args, **kwargs: [])
    result = mail.deliver(session, inbound(order.email))
    assert result.completed_order_ids == [] and result.touched_order_ids == [order.id]
    message = mail.get_message(session, user, result.message_ids[0])
    assert message.order_id == order.id and not message.matched
