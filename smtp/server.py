"""Running the SMTP daemon: in a thread (``otpinbox run``, tests) or in the foreground."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from typing import Any

import aiosmtpd.smtp
from aiosmtpd.controller import Controller

from config import Settings
from models.db import Database
from models.notify import LocalNotifier

from .handler import OtpHandler
from .metrics import serve_metrics
from .protocol import ConnectionLimiter, OtpSMTP

log = logging.getLogger("otpinbox.smtp")

# Commands a client may repeat only so often per connection (Postfix smtpd_junk_command_limit).
JUNK_COMMANDS = ("NOOP", "RSET", "VRFY", "EXPN", "HELP", "HELO", "EHLO", "STARTTLS")
# Transactions on a persistent connection are not junk: no practical cap on the rest.
UNLIMITED = 10**9


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    if not settings.smtp_tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.smtp_tls_cert, settings.smtp_tls_key or None)
    return context


def smtp_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for :class:`OtpSMTP` (all but the handler and the limiter)."""
    # aiosmtpd reads its unknown-command budget from a module global at each session start.
    aiosmtpd.smtp.BOGUS_LIMIT = settings.smtp_max_unknown_commands or UNLIMITED
    junk = settings.smtp_max_junk_commands
    return {
        "hostname": settings.smtp_hostname,
        "ident": "otpinbox ESMTP",
        "data_size_limit": settings.smtp_max_message_bytes or None,
        "enable_SMTPUTF8": True,
        "decode_data": False,
        "timeout": settings.smtp_timeout,
        "data_timeout": settings.smtp_data_timeout,
        "command_size_limit": settings.smtp_max_command_bytes,
        "command_call_limit": (
            {**dict.fromkeys(JUNK_COMMANDS, junk), "*": UNLIMITED} if junk else None
        ),
        "tls_context": tls_context(settings),
        "require_starttls": settings.smtp_require_starttls and bool(settings.smtp_tls_cert),
        "proxy_protocol": settings.smtp_proxy_protocol,
        "greet_pause": settings.smtp_greet_pause,
        "proxy_protocol_timeout": (
            settings.smtp_proxy_timeout if settings.smtp_proxy_protocol else None
        ),
    }


def make_handler(settings: Settings, db: Database, notifier: LocalNotifier | None) -> OtpHandler:
    return OtpHandler(
        db,
        notifier,
        max_recipients=settings.smtp_max_recipients,
        batch_max=settings.smtp_batch_max,
        parse_timeout=settings.smtp_parse_timeout,
    )


def make_limiter(settings: Settings) -> ConnectionLimiter:
    return ConnectionLimiter(settings.smtp_max_connections, settings.smtp_max_connections_per_ip)


class OtpController(Controller):
    """A threaded controller serving :class:`OtpHandler` (used by ``run`` and the tests)."""

    def __init__(self, settings: Settings, db: Database, notifier: LocalNotifier | None) -> None:
        super().__init__(
            make_handler(settings, db, notifier),
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            server_hostname=settings.smtp_hostname,
            ready_timeout=10,
        )
        self._options = smtp_options(settings)
        self.limiter = make_limiter(settings)

    def factory(self) -> OtpSMTP:
        return OtpSMTP(self.handler, limiter=self.limiter, loop=self.loop, **self._options)

    def stop(self, no_assert: bool = False) -> None:
        super().stop(no_assert)
        self.handler.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def serve_forever(
    settings: Settings,
    db: Database,
    notifier: LocalNotifier | None,
    *,
    worker_index: int = 0,
) -> None:
    """Run the daemon in the foreground until SIGINT or SIGTERM.

    Several processes may run this on the same port (SO_REUSEPORT); the kernel spreads
    connections over them. Each serves its metrics on ``smtp_metrics_port + worker_index``.
    """
    # aiosmtpd logs several INFO lines per connection (peer, AUTH mechanisms, ...): a share
    # of the event loop's time at thousands of connections per second. Our own log line per
    # accepted message carries what matters (peer, raw id, Message-ID, size).
    logging.getLogger("mail.log").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    handler = make_handler(settings, db, notifier)
    limiter = make_limiter(settings)
    options = smtp_options(settings)
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(
            lambda: OtpSMTP(handler, limiter=limiter, loop=loop, **options),
            host=settings.smtp_host,
            port=settings.smtp_port,
            reuse_port=True,
            backlog=1024,
        )
    )
    if settings.smtp_metrics_port:
        serve_metrics(settings.smtp_metrics_host, settings.smtp_metrics_port + worker_index)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, loop.stop)
    log.info(
        "SMTP listening on %s:%s (worker %d)", settings.smtp_host, settings.smtp_port, worker_index
    )
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        handler.close()
        loop.close()
