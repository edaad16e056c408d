"""The aiosmtpd handler: reject at RCPT, one delivery call at DATA, 250 only after commit.

Database work runs in worker threads (``asyncio.to_thread``) so one slow commit never
stalls the other sessions on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from models import mail
from models.db import Database
from models.notify import LocalNotifier, order_channel, user_channel

from .parse import parse

log = logging.getLogger("otpinbox.smtp")

OK_RCPT = "250 2.1.5 OK"
ERR_UNKNOWN_USER = "550 5.1.1 Recipient address rejected: no such mailbox"
ERR_RELAY_DENIED = "550 5.7.1 Relay access denied: we do not serve that domain"
ERR_TOO_MANY_RCPT = "452 4.5.3 Too many recipients"
ERR_TEMPORARY = "451 4.3.0 Temporary storage failure, try again later"


class OtpHandler:
    def __init__(
        self, db: Database, notifier: LocalNotifier | None = None, *, max_recipients: int = 100
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.max_recipients = max_recipients

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return ERR_TOO_MANY_RCPT
        try:
            verdict = await asyncio.to_thread(self._check_recipient, address)
        except SQLAlchemyError:
            log.exception("recipient check failed")
            return ERR_TEMPORARY
        if verdict == OK_RCPT:
            envelope.rcpt_tos.append(address)
        return verdict

    def _check_recipient(self, address: str) -> str:
        _, at, domain = address.rpartition("@")
        with self.db.read() as session:
            if not at or not mail.is_our_domain(session, domain):
                return ERR_RELAY_DENIED
            if not mail.accepts_mail(session, address):
                return ERR_UNKNOWN_USER
        return OK_RCPT

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        peer = _peer(session)
        try:
            delivery = await asyncio.to_thread(
                self._deliver, raw, envelope.mail_from or "", list(envelope.rcpt_tos), peer
            )
        except SQLAlchemyError:
            log.exception("delivery from %s not stored", peer)
            return ERR_TEMPORARY
        self._notify(delivery)
        log.info(
            "stored raw=%s peer=%s rcpts=%d completed=%s",
            delivery.raw_id,
            peer,
            len(envelope.rcpt_tos),
            delivery.completed_order_ids,
        )
        return f"250 2.0.0 OK: queued as {delivery.raw_id}"

    def _deliver(self, raw: bytes, mail_from: str, rcpt_tos: list[str], peer: str) -> mail.Delivery:
        inbound = parse(raw, mail_from, rcpt_tos, peer)
        with self.db.transaction() as session:
            return mail.deliver(session, inbound)

    def _notify(self, delivery: mail.Delivery) -> None:
        if self.notifier is None:
            return
        channels = [order_channel(oid) for oid in delivery.touched_order_ids]
        channels += [user_channel(uid) for uid in delivery.user_ids]
        if channels:
            self.notifier.publish(channels)


def _peer(session: Any) -> str:
    peer = getattr(session, "peer", None)
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")
