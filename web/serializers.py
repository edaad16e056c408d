"""JSON shapes of orders and messages, as the contract describes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.mail import Message
from models.orders import Order


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def order_json(order: Order) -> dict[str, Any]:
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


def message_json(message: Message, sanitized_html: str) -> dict[str, Any]:
    return {
        **message_summary(message),
        "text": message.text,
        "html": sanitized_html,
        "parse_error": message.parse_error,
        "attachments": [
            {
                "id": str(a.id),
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
            }
            for a in message.attachments
        ],
    }
