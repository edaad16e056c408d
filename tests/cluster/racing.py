"""One side of a cancel-vs-delivery race, run as its own process (bench/faults_race.py).

It lives in an importable module because ``spawn`` children import their target."""

from __future__ import annotations

import random
import time
from typing import Any


def _inbound(email: str):  # type: ignore[no-untyped-def]
    from models.mail import InboundMessage

    return InboundMessage(
        raw=b"Subject: code\r\n\r\nYour code is 123456",
        mail_from="noreply@discord.com",
        rcpt_tos=(email,),
        code="123456",
        searchable_text="Your code is 123456",
    )


def side(url: str, role: str, user_id: int, barrier: Any, tasks: Any, results: Any) -> None:
    """One racing process: for each task, meet the others at the barrier, then act."""
    from models import mail, orders, users
    from models.db import Database
    from models.errors import OrderNotCancellable

    db = Database(url)
    while True:
        task = tasks.get()
        if task is None:
            break
        order_id, email = task
        barrier.wait()
        time.sleep(random.random() * 0.003)
        try:
            with db.transaction() as session:
                if role == "deliver":
                    mail.deliver(session, _inbound(email))
                else:
                    orders.cancel(session, session.get(users.User, user_id), order_id)
            results.put((order_id, role, None))
        except OrderNotCancellable:
            results.put((order_id, role, None))  # lost to the delivery: a normal outcome
        except Exception as exc:
            results.put((order_id, role, f"{exc.__class__.__name__}: {exc}"))
    db.dispose()
