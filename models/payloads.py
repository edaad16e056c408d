"""The public JSON shapes of orders and messages: one definition for REST, SSE and webhooks.

They live in ``models`` because webhook events are queued inside the delivery's own
transaction, where ``web`` cannot be imported.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by models.webhooks, which models.mail imports
    from .mail import Message
    from .orders import Order


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a ``Z``, to the second."""
    if value is None:
        return None
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def order_payload(order: Order) -> dict[str, Any]:
    return {
        "id": order.public_id,
        "kind": order.kind,
        "service": order.service.name,
        "email": order.email,
        "status": order.status,
        "price": order.price,
        "refunded": order.refunded > 0,
        "code": order.code,
        "link": order.link,
        "value": order.value,
        "created_at": iso(order.created_at),
        "expires_at": iso(order.expires_at),
        "completed_at": iso(order.completed_at),
    }


def message_summary(message: Message) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "from": message.from_header or message.mail_from,
        "to": message.rcpt_to,
        "subject": message.subject,
        "received_at": iso(message.received_at),
        "code": message.code,
        "link": message.link,
        "size": message.size,
    }
