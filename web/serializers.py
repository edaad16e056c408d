"""JSON shapes of orders and messages, as the contract describes them."""

from __future__ import annotations

from typing import Any

from models.mail import Message
from models.payloads import iso, message_summary
from models.payloads import order_payload as order_json

__all__ = ["iso", "message_json", "message_summary", "order_json"]


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
