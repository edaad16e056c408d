"""The aiosmtpd handler: reject at RCPT, one delivery call at DATA, 250 only after commit.

The handler stays thin. RCPT asks ``models.mail`` whether the address is live (a read in
a worker thread). DATA parses in a worker thread, then hands the message to the
:class:`GroupCommitter`, whose single ``models.mail.deliver`` call per message runs in
one batched transaction; the reply is 250 only once that transaction committed, 451 when
the database refused it (locked, read-only, full, gone).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from models import mail
from models.db import Database
from models.notify import LocalNotifier, order_channel, user_channel

from . import metrics
from .committer import GroupCommitter
from .parse import parse, raw_only
from .protocol import ehlo_extensions

log = logging.getLogger("otpinbox.smtp")

OK_RCPT = "250 2.1.5 OK"
ERR_UNKNOWN_USER = "550 5.1.1 Recipient address rejected: no such mailbox"
ERR_RELAY_DENIED = "550 5.7.1 Relay access denied: we do not serve that domain"
ERR_TOO_MANY_RCPT = "452 4.5.3 Too many recipients"
ERR_TEMPORARY = "451 4.3.0 Temporary storage failure, try again later"
ERR_INTERNAL = "451 4.3.0 Temporary local problem, try again later"
DOMAIN_CACHE_SECONDS = 10.0
PARSE_TIMED_OUT = "parsing took longer than the configured limit (smtp_parse_timeout)"


class OtpHandler:
    def __init__(
        self,
        db: Database,
        notifier: LocalNotifier | None = None,
        *,
        max_recipients: int = 100,
        batch_max: int = 64,
        parse_timeout: float = 10.0,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.max_recipients = max_recipients
        self.parse_timeout = parse_timeout
        self._our_domains: dict[str, float] = {}  # domain -> monotonic expiry of a cached yes
        self.committer = GroupCommitter(db, max_batch=batch_max, after_commit=self._notify)
        # Parsing is CPU work; two threads keep the event loop free without GIL thrash.
        self._parsers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="smtp-parse")
        # RCPT checks are short reads. Few threads, each keeping its pooled connection:
        # asyncio's default executor (cores + 4 threads) outgrew the SQLite pool, and
        # every connection beyond it was closed and reopened (PRAGMAs and all) per check.
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="smtp-rcpt")

    def close(self) -> None:
        self.committer.close()
        self._parsers.shutdown(wait=True)
        self._readers.shutdown(wait=True)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return ehlo_extensions(responses)

    async def handle_PROXY(self, server: Any, session: Any, envelope: Any, proxy_data: Any) -> bool:
        """Behind a load balancer: limits and logs use the client IP from the PROXY header."""
        src = getattr(proxy_data, "src_addr", None)
        ip = str(src) if src else client_ip(session)
        if server.admit_client(ip):
            return True
        server.refuse_connection()
        return False

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.max_recipients and len(envelope.rcpt_tos) >= self.max_recipients:
            return ERR_TOO_MANY_RCPT
        try:
            loop = asyncio.get_running_loop()
            verdict = await loop.run_in_executor(self._readers, self._check_recipient, address)
        except Exception:
            log.exception("recipient check failed peer=%s", client_ip(session))
            return ERR_TEMPORARY
        if verdict == OK_RCPT:
            envelope.rcpt_tos.append(address)
        return verdict

    def _check_recipient(self, address: str) -> str:
        _, at, domain = address.rpartition("@")
        with self.db.read() as session:
            if not at or not self._is_our_domain(session, domain):
                return ERR_RELAY_DENIED
            if not mail.accepts_mail(session, address):
                return ERR_UNKNOWN_USER
        return OK_RCPT

    def _is_our_domain(self, session: Any, domain: str) -> bool:
        """``mail.is_our_domain``, remembering a yes for DOMAIN_CACHE_SECONDS.

        One query less per RCPT. A domain switched off within that time still refuses
        mail (accepts_mail checks the domain too), with 550 5.1.1 instead of 5.7.1.
        """
        key = domain.strip().lower().rstrip(".")
        now = time.monotonic()
        if self._our_domains.get(key, 0.0) > now:
            return True
        if not mail.is_our_domain(session, key):
            return False
        self._our_domains[key] = now + DOMAIN_CACHE_SECONDS
        return True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or b""
        peer = client_ip(session)
        loop = asyncio.get_running_loop()
        mail_from, rcpt_tos = envelope.mail_from or "", list(envelope.rcpt_tos)
        try:
            parsing = loop.run_in_executor(self._parsers, parse, raw, mail_from, rcpt_tos, peer)
            try:
                inbound = await asyncio.wait_for(parsing, self.parse_timeout or None)
            except TimeoutError:
                # The message is kept all the same: raw, flagged, without code or text.
                log.warning("parse timed out peer=%s size=%d", peer, len(raw))
                inbound = raw_only(raw, mail_from, rcpt_tos, peer, PARSE_TIMED_OUT)
            delivery = await asyncio.wrap_future(self.committer.submit(inbound))
        except Exception as exc:
            log.error("not stored peer=%s size=%d error=%s", peer, len(raw), exc)
            return ERR_TEMPORARY
        metrics.ACCEPTED.inc()
        metrics.RECEIVED_BYTES.inc(len(raw))
        if inbound.parse_error:
            metrics.PARSE_FAILURES.inc()
        log.info(
            "accepted peer=%s raw_id=%s message_id=%s size=%d rcpts=%d completed=%s%s",
            peer,
            delivery.raw_id,
            inbound.message_id_header or "-",
            len(raw),
            len(envelope.rcpt_tos),
            delivery.completed_order_ids,
            f" parse_error={inbound.parse_error!r}" if inbound.parse_error else "",
        )
        return f"250 2.0.0 OK: queued as {delivery.raw_id}"

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd's default reply names the exception class and message: internals leak.
        log.error("SMTP session error: %s: %s", error.__class__.__name__, error)
        return ERR_INTERNAL

    def _notify(self, deliveries: list[mail.Delivery]) -> None:
        if self.notifier is None:
            return
        channels: list[str] = []
        for delivery in deliveries:
            channels += [order_channel(oid) for oid in delivery.touched_order_ids]
            channels += [user_channel(uid) for uid in delivery.user_ids]
        if channels:
            self.notifier.publish(list(dict.fromkeys(channels)))


def client_ip(session: Any) -> str:
    """The client's IP: from the PROXY header when there is one, else the socket peer."""
    proxy = getattr(session, "proxy_data", None)
    src = getattr(proxy, "src_addr", None) if proxy is not None else None
    if src:
        return str(src)
    peer = getattr(session, "peer", None)
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")
