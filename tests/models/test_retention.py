"""models.retention: purge by age and by per-address count, in bounded batches."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from models import catalog as catalog_module
from models import mail, orders
from models.base import utcnow
from models.mail import Attachment, InboundMessage, Message, ParsedAttachment, RawMessage
from models.retention import purge_old_messages
from tests.factories import make_user


def deliver(session, to: str, *, days_ago: float = 0, attach: bool = False) -> int:  # type: ignore[no-untyped-def]
    inbound = InboundMessage(
        raw=b"Subject: x\r\n\r\nbody",
        mail_from="a@example.com",
        rcpt_tos=(to,),
        text="body",
        attachments=(ParsedAttachment("a.txt", "text/plain", b"hi"),) if attach else (),
    )
    return mail.deliver(session, inbound, now=utcnow() - timedelta(days=days_ago)).raw_id


def count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def rental_address(session) -> str:  # type: ignore[no-untyped-def]
    user = make_user(session)
    return orders.purchase(session, user, "discord", kind=orders.RENTAL, days=7).email


def test_messages_past_the_maximum_age_go_with_attachments_and_raw(session, catalog):
    addr = rental_address(session)
    old = deliver(session, addr, days_ago=40, attach=True)
    fresh = deliver(session, addr, days_ago=1, attach=True)
    purged = purge_old_messages(session, max_age_days=30, max_per_address=0)
    assert (purged.messages, purged.raw_messages) == (1, 1)
    assert session.scalars(select(RawMessage.id)).all() == [fresh]
    assert old not in session.scalars(select(Message.raw_id)).all()
    assert count(session, Attachment) == 1


def test_only_the_newest_messages_per_address_are_kept(session, catalog):
    busy, quiet = rental_address(session), rental_address(session)
    busy_ids = [deliver(session, busy) for _ in range(5)]
    quiet_id = deliver(session, quiet)
    purged = purge_old_messages(session, max_age_days=0, max_per_address=2)
    assert purged.messages == 3
    assert sorted(session.scalars(select(Message.raw_id))) == sorted([*busy_ids[-2:], quiet_id])


def test_a_raw_message_shared_by_recipients_stays_while_one_still_refers_to_it(session, catalog):
    first, second = rental_address(session), rental_address(session)
    for _ in range(2):
        deliver(session, second)
    inbound = InboundMessage(raw=b"x", mail_from="a@example.com", rcpt_tos=(first, second))
    shared = mail.deliver(session, inbound).raw_id
    purged = purge_old_messages(session, max_age_days=0, max_per_address=2)
    assert purged.messages == 1  # the oldest of `second`'s three
    assert shared in session.scalars(select(RawMessage.id)).all()


def test_raw_only_mail_past_the_age_is_purged(session, catalog):
    inbound = InboundMessage(raw=b"x", mail_from="a@example.com", rcpt_tos=("gone@otpinbox.test",))
    mail.deliver(session, inbound, now=utcnow() - timedelta(days=40))
    assert purge_old_messages(session, max_age_days=30, max_per_address=0).raw_messages == 1
    assert count(session, RawMessage) == 0


def test_purging_works_in_bounded_batches(session, catalog):
    addr = rental_address(session)
    for _ in range(7):
        deliver(session, addr, days_ago=50)
    rounds = []
    while (
        purged := purge_old_messages(session, max_age_days=30, max_per_address=0, batch=3)
    ).total:
        rounds.append(purged.messages)
        assert len(rounds) < 10
    assert rounds == [3, 3, 1] and count(session, Message) == 0


def test_nothing_is_purged_when_both_rules_are_off(session, catalog):
    deliver(session, rental_address(session), days_ago=400)
    assert purge_old_messages(session, max_age_days=0, max_per_address=0).total == 0
    assert count(session, Message) == 1
    assert catalog.domain.name == "otpinbox.test"


def test_the_worker_tick_purges_one_batch(clean_db, settings):
    from cli import worker_tick

    with clean_db.transaction() as session:
        catalog_module.add_domain(session, "otpinbox.test")
        catalog_module.add_service(session, "discord", price=150, rental_day_price=50)
        addr = rental_address(session)
        for _ in range(3):
            deliver(session, addr, days_ago=100)
    worker_tick(clean_db, None, settings.replace(smtp_retention_max_age_days=30))
    with clean_db.read() as session:
        assert count(session, Message) == 0 and count(session, RawMessage) == 0
