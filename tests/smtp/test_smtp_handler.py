"""The handler's hooks called directly, and storage failures (S10): 451, never 250."""

from __future__ import annotations

import asyncio
import threading

import pytest
from aiosmtpd.smtp import Envelope, Session
from sqlalchemy import event, text, update

from models.db import Database
from smtp.handler import (
    ERR_INTERNAL,
    ERR_RELAY_DENIED,
    ERR_TEMPORARY,
    ERR_TOO_MANY_RCPT,
    ERR_UNKNOWN_USER,
    OK_RCPT,
    OtpHandler,
)
from smtp.protocol import with_enhanced_code
from tests.factories import mail_bytes
from tests.smtp.smtputil import live_addresses, stored_messages, stored_raw


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def envelope_for(rcpts: list[str], content: bytes, mail_from: str = "a@example.com") -> Envelope:
    envelope = Envelope()
    envelope.mail_from = mail_from
    envelope.rcpt_tos = list(rcpts)
    envelope.original_content = envelope.content = content
    return envelope


def smtp_session(peer: str = "192.0.2.1") -> Session:
    session = Session(loop=None)  # type: ignore[arg-type]
    session.peer = (peer, 40000)
    return session


@pytest.fixture
def handler(clean_db):  # type: ignore[no-untyped-def]
    hooks = OtpHandler(clean_db, max_recipients=2)
    yield hooks
    hooks.close()


def test_rcpt_verdicts(clean_db, handler):
    [addr] = live_addresses(clean_db)
    envelope = Envelope()

    async def rcpt(address: str) -> str:
        return await handler.handle_RCPT(None, smtp_session(), envelope, address, [])

    assert run(rcpt(addr)) == OK_RCPT
    assert run(rcpt("NOBODY@otpinbox.test")) == ERR_UNKNOWN_USER
    assert run(rcpt("x@elsewhere.example")) == ERR_RELAY_DENIED
    assert run(rcpt(addr.upper())) == OK_RCPT  # addresses are case-insensitive
    assert run(rcpt(addr)) == ERR_TOO_MANY_RCPT
    assert envelope.rcpt_tos == [addr, addr.upper()]


def test_a_domain_switched_off_is_refused_at_rcpt_even_while_cached(clean_db, handler):
    from models.catalog import Domain

    [addr] = live_addresses(clean_db)

    async def rcpt(address: str) -> str:
        return await handler.handle_RCPT(None, smtp_session(), Envelope(), address, [])

    assert run(rcpt(addr)) == OK_RCPT  # the domain is now cached as ours
    with clean_db.transaction() as session:
        session.execute(update(Domain).values(active=False))
    assert run(rcpt(addr)) == ERR_UNKNOWN_USER  # refused all the same
    handler._our_domains.clear()  # once the cache entry expires: relay denied
    assert run(rcpt(addr)) == ERR_RELAY_DENIED


def test_data_stores_once_and_answers_with_the_raw_id(clean_db, handler):
    [addr] = live_addresses(clean_db)
    raw = mail_bytes(addr)
    reply = run(handler.handle_DATA(None, smtp_session(), envelope_for([addr], raw)))
    assert reply.startswith("250 2.0.0 OK: queued as ")
    assert stored_raw(clean_db) == [raw]
    [message] = stored_messages(clean_db)
    assert reply.endswith(str(message.raw_id)) and message.code == "482913"


def test_unparseable_mail_is_stored_raw_and_flagged(clean_db, handler):
    [addr] = live_addresses(clean_db)
    raw = b"Subject: deep\r\n" + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n' * 300
    reply = run(handler.handle_DATA(None, smtp_session(), envelope_for([addr], raw)))
    assert reply.startswith("250")
    [message] = stored_messages(clean_db)
    assert message.parse_error and "MIME parts" in message.parse_error
    assert stored_raw(clean_db) == [raw]


def test_ehlo_hook_adds_extensions_and_remembers_the_name(handler):
    session = smtp_session()
    lines = run(handler.handle_EHLO(None, session, None, "client.test", ["250-x", "250 HELP"]))
    assert lines == ["250-x", "250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250 HELP"]
    assert session.host_name == "client.test"


def test_handler_exceptions_do_not_leak_internals(handler):
    reply = run(handler.handle_exception(RecursionError("/srv/app/secret.py line 3")))
    assert reply == ERR_INTERNAL and "secret" not in reply


def test_enhanced_codes_are_added_only_where_missing():
    assert with_enhanced_code("250 OK") == "250 2.0.0 OK"
    assert with_enhanced_code("550 5.1.1 no such user") == "550 5.1.1 no such user"
    assert (
        with_enhanced_code("552 Error: Too much mail data") == "552 5.3.4 Error: Too much mail data"
    )
    assert with_enhanced_code("354 End data with <CR><LF>.<CR><LF>").startswith("354 End")
    assert with_enhanced_code("220 otpinbox.test ESMTP") == "220 otpinbox.test ESMTP"


def test_one_failing_message_in_a_batch_does_not_sink_the_others(clean_db, handler):
    addrs = live_addresses(clean_db, 3)
    from models import mail

    real_deliver, real_deliver_many = mail.deliver, mail.deliver_many

    def flaky(session, inbound, now=None):  # type: ignore[no-untyped-def]
        if b"poison" in inbound.raw:
            session.execute(text("INSERT INTO raw_messages (id) VALUES (NULL)"))  # NOT NULL
        return real_deliver_many(session, [inbound], now)[0]

    def flaky_many(session, inbounds, now=None):  # type: ignore[no-untyped-def]
        deliveries = real_deliver_many(session, inbounds, now)
        if any(b"poison" in inbound.raw for inbound in inbounds):
            session.execute(text("INSERT INTO raw_messages (id) VALUES (NULL)"))  # NOT NULL
        return deliveries

    async def many() -> list[str]:
        envelopes = [
            envelope_for([a], mail_bytes(a, body="poison" if i == 1 else "code 482913"))
            for i, a in enumerate(addrs)
        ]
        return await asyncio.gather(
            *(handler.handle_DATA(None, smtp_session(), e) for e in envelopes)
        )

    mail.deliver, mail.deliver_many = flaky, flaky_many  # type: ignore[assignment]
    try:
        replies = run(many())
    finally:
        mail.deliver, mail.deliver_many = real_deliver, real_deliver_many  # type: ignore[assignment]
    assert [r[:3] for r in replies] == ["250", "451", "250"]
    assert len(stored_raw(clean_db)) == 2


def test_a_batch_with_a_failing_message_is_redone_per_message_without_duplicates(clean_db):
    """The optimistic one-transaction batch is rolled back whole, then stored per SAVEPOINT."""
    from concurrent.futures import Future

    from models import mail
    from smtp.committer import GroupCommitter
    from smtp.parse import parse

    addrs = live_addresses(clean_db, 4)
    real_deliver, real_deliver_many = mail.deliver, mail.deliver_many
    calls, batch_calls = [], []

    def flaky(session, inbound, now=None):  # type: ignore[no-untyped-def]
        calls.append(inbound.rcpt_tos[0])
        if b"poison" in inbound.raw:
            raise RuntimeError("poison")
        return real_deliver_many(session, [inbound], now)[0]

    def flaky_many(session, inbounds, now=None):  # type: ignore[no-untyped-def]
        batch_calls.append([inbound.rcpt_tos[0] for inbound in inbounds])
        deliveries = real_deliver_many(session, inbounds, now)  # stored, then rolled back
        if any(b"poison" in inbound.raw for inbound in inbounds):
            raise RuntimeError("poison")
        return deliveries

    committer = GroupCommitter(clean_db)
    batch = [
        (
            parse(mail_bytes(a, body="poison" if i == 2 else f"code {482910 + i}"), "a@x", [a]),
            Future(),
        )
        for i, a in enumerate(addrs)
    ]
    mail.deliver, mail.deliver_many = flaky, flaky_many  # type: ignore[assignment]
    try:
        committer._commit(batch)  # one batch, deterministically
    finally:
        mail.deliver, mail.deliver_many = real_deliver, real_deliver_many  # type: ignore[assignment]
        committer.close()
    outcomes = [future.exception() is None for _, future in batch]
    assert outcomes == [True, True, False, True]
    # First pass: the whole batch in one call, rolled back; second pass: one by one.
    assert batch_calls == [addrs]
    assert calls == addrs
    assert len(stored_raw(clean_db)) == 3
    assert sorted(m.rcpt_to for m in stored_messages(clean_db)) == sorted(
        a for i, a in enumerate(addrs) if i != 2
    )


def test_a_clean_batch_is_one_transaction_and_every_future_resolves_after_it(clean_db):
    from concurrent.futures import Future

    from smtp.committer import GroupCommitter
    from smtp.parse import parse

    addrs = live_addresses(clean_db, 3)
    committer = GroupCommitter(clean_db)
    batch = [(parse(mail_bytes(a, body="code 552211"), "a@x", [a]), Future()) for a in addrs]
    try:
        committer._commit(batch)
    finally:
        committer.close()
    raw_ids = {future.result(timeout=0).raw_id for _, future in batch}
    assert len(raw_ids) == 3 and len(stored_raw(clean_db)) == 3


def test_a_parse_over_the_time_limit_is_stored_raw_and_flagged(clean_db, monkeypatch):
    import time

    import smtp.handler
    from smtp.handler import PARSE_TIMED_OUT

    [addr] = live_addresses(clean_db)
    real_parse = smtp.handler.parse

    def slow_parse(*args):  # type: ignore[no-untyped-def]
        time.sleep(1.0)  # a parser stuck on hostile input, as far as the handler can tell
        return real_parse(*args)

    monkeypatch.setattr(smtp.handler, "parse", slow_parse)
    hooks = OtpHandler(clean_db, parse_timeout=0.1)
    try:
        content = mail_bytes(addr, body="code 482913")
        reply = run(hooks.handle_DATA(None, smtp_session(), envelope_for([addr], content)))
    finally:
        hooks.close()
    assert reply.startswith("250 ")
    [message] = stored_messages(clean_db)
    assert message.parse_error == PARSE_TIMED_OUT and message.code is None
    assert stored_raw(clean_db) == [content]


# ---------------------------------------------------------------- S10: storage failures


def _failing_database(clean_db: Database, setup: str) -> Database:
    """A second engine on the same database whose connections run ``setup`` first."""
    failing = Database(clean_db.url)

    @event.listens_for(failing.engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute(setup)
        cur.close()
        if not failing.is_sqlite:
            dbapi_conn.commit()

    return failing


def test_a_read_only_database_gives_451_never_250(clean_db):
    [addr] = live_addresses(clean_db)
    setup = (
        "PRAGMA query_only=ON" if clean_db.is_sqlite else "SET default_transaction_read_only = on"
    )
    failing = _failing_database(clean_db, setup)
    hooks = OtpHandler(failing)
    try:
        reply = run(hooks.handle_DATA(None, smtp_session(), envelope_for([addr], mail_bytes(addr))))
    finally:
        hooks.close()
        failing.dispose()
    assert reply == ERR_TEMPORARY
    assert stored_raw(clean_db) == []


def test_a_locked_database_gives_451_and_the_retry_succeeds(clean_db):
    [addr] = live_addresses(clean_db)
    setup = "PRAGMA busy_timeout=200" if clean_db.is_sqlite else "SET lock_timeout = '200ms'"
    failing = _failing_database(clean_db, setup)
    hooks = OtpHandler(failing)
    locker = clean_db.engine.connect()
    held, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        if clean_db.is_sqlite:
            # Autobegin sends our BEGIN IMMEDIATE: the write lock is held from here on.
            locker.exec_driver_sql("DELETE FROM raw_messages WHERE 1 = 0")
        else:
            locker.exec_driver_sql("LOCK TABLE raw_messages IN ACCESS EXCLUSIVE MODE")
        held.set()
        release.wait(10)
        locker.rollback()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    try:
        assert held.wait(10)
        envelope = envelope_for([addr], mail_bytes(addr))
        first = run(hooks.handle_DATA(None, smtp_session(), envelope))
        release.set()
        thread.join(10)
        retry = run(hooks.handle_DATA(None, smtp_session(), envelope))
    finally:
        release.set()
        thread.join(10)
        locker.close()
        hooks.close()
        failing.dispose()
    assert first == ERR_TEMPORARY
    assert retry.startswith("250")
    assert len(stored_raw(clean_db)) == 1


@pytest.mark.parametrize(
    "arg",
    [
        "<user@otpinbox.test>",
        " <user@otpinbox.test> SIZE=100",
        "user@otpinbox.test",
        '<"quoted local"@otpinbox.test>',
        "<üñî@otpinbox.test> SMTPUTF8",
        "<>",
        "",
        "<missing-bracket@otpinbox.test",
        "<@relay.example:user@otpinbox.test>",
        "<" + "x" * 65 + "@otpinbox.test>",
        "<a@b@c>",
        "<user@[127.0.0.1]>",
        "not an address at all",
    ],
)
def test_our_address_parse_answers_as_aiosmtpd_does(arg):
    from aiosmtpd.smtp import SMTP

    from smtp.protocol import ConnectionLimiter, OtpSMTP

    ours = OtpSMTP(object(), limiter=ConnectionLimiter(0, 0), data_timeout=60)
    theirs = SMTP(object())
    ours.local_part_limit = theirs.local_part_limit = 64
    assert ours._getaddr(arg) == theirs._getaddr(arg)
