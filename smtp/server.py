"""Running the SMTP daemon: in a thread (``otpinbox run``, tests) or in the foreground."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from config import Settings
from models.db import Database
from models.notify import LocalNotifier

from .handler import OtpHandler

log = logging.getLogger("otpinbox.smtp")


def smtp_options(settings: Settings) -> dict:
    return {
        "hostname": settings.smtp_hostname,
        "data_size_limit": settings.smtp_max_message_bytes,
        "enable_SMTPUTF8": True,
        "decode_data": False,
        "timeout": settings.smtp_timeout,
        "ident": "otpinbox ESMTP",
    }


class OtpController(Controller):
    """A threaded controller serving :class:`OtpHandler` (used by ``run`` and the tests)."""

    def __init__(self, settings: Settings, db: Database, notifier: LocalNotifier | None) -> None:
        handler = OtpHandler(db, notifier, max_recipients=settings.smtp_max_recipients)
        super().__init__(
            handler,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            server_hostname=settings.smtp_hostname,
            ready_timeout=10,
        )
        self._options = smtp_options(settings)

    def factory(self) -> SMTP:
        return SMTP(self.handler, **self._options)


def serve_forever(settings: Settings, db: Database, notifier: LocalNotifier | None) -> None:
    """Run the daemon in the foreground until SIGINT or SIGTERM."""
    handler = OtpHandler(db, notifier, max_recipients=settings.smtp_max_recipients)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    options = smtp_options(settings)
    server = loop.run_until_complete(
        loop.create_server(
            lambda: SMTP(handler, loop=loop, **options),
            host=settings.smtp_host,
            port=settings.smtp_port,
            reuse_port=True,
        )
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, loop.stop)
    log.info("SMTP listening on %s:%s", settings.smtp_host, settings.smtp_port)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
