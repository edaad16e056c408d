"""The OpenAPI 3 document of REST API v1 (kept next to the routes it describes)."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}


def _ok(schema: dict[str, Any], status: str = "200", description: str = "OK") -> dict[str, Any]:
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def _errors(*codes: str) -> dict[str, Any]:
    return {code: ERROR for code in ("401", *codes)}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


ORDER_ID = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}
MESSAGE_ID = {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Replays the first answer for a repeated key; 422 if reused with other input.",
}


def document() -> dict[str, Any]:
    nullable_str = {"type": ["string", "null"]}
    paths: dict[str, Any] = {
        "/me": {"get": {"summary": "Your account", "responses": {**_ok(_ref("Me")), **_errors()}}},
        "/services": {
            "get": {
                "summary": "Services on sale",
                "responses": {**_ok({"type": "array", "items": _ref("Service")}), **_errors()},
            }
        },
        "/domains": {
            "get": {
                "summary": "Mail domains",
                "responses": {**_ok({"type": "array", "items": _ref("Domain")}), **_errors()},
            }
        },
        "/orders": {
            "post": {
                "summary": "Buy an activation or a rental",
                "parameters": [IDEMPOTENCY],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("NewOrder")}},
                },
                "responses": {
                    **_ok(_ref("Order"), "201", "Created"),
                    **_errors("400", "402", "403", "404", "409", "422", "429"),
                },
            },
            "get": {
                "summary": "Your orders, newest first (Link: rel=next for the next page)",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                    },
                    {"name": "before", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {**_ok({"type": "array", "items": _ref("Order")}), **_errors("400")},
            },
        },
        "/orders/{order_id}": {
            "get": {
                "summary": "One order",
                "parameters": [ORDER_ID],
                "responses": {**_ok(_ref("Order")), **_errors("404")},
            }
        },
        "/orders/{order_id}/wait": {
            "get": {
                "summary": "Long-poll: the order once it leaves 'waiting', or after timeout",
                "parameters": [
                    ORDER_ID,
                    {
                        "name": "timeout",
                        "in": "query",
                        "schema": {"type": "number", "minimum": 0, "maximum": 60},
                    },
                ],
                "responses": {**_ok(_ref("Order")), **_errors("400", "404")},
            }
        },
        "/orders/{order_id}/cancel": {
            "post": {
                "summary": "Cancel: refund if waiting; a completed order is only released",
                "parameters": [ORDER_ID, IDEMPOTENCY],
                "responses": {**_ok(_ref("Order")), **_errors("404", "409", "422")},
            }
        },
        "/orders/{order_id}/reorder": {
            "post": {
                "summary": "A new paid activation on the same address",
                "parameters": [ORDER_ID, IDEMPOTENCY],
                "responses": {
                    **_ok(_ref("Order"), "201", "Created"),
                    **_errors("402", "403", "404", "409", "422"),
                },
            }
        },
        "/orders/{order_id}/extend": {
            "post": {
                "summary": "Extend an active rental",
                "parameters": [ORDER_ID, IDEMPOTENCY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["days"],
                                "properties": {"days": {"type": "integer", "minimum": 1}},
                            }
                        }
                    },
                },
                "responses": {**_ok(_ref("Order")), **_errors("400", "402", "404", "409")},
            }
        },
        "/orders/{order_id}/messages": {
            "get": {
                "summary": "Messages received for an order, newest first",
                "parameters": [ORDER_ID],
                "responses": {
                    **_ok({"type": "array", "items": _ref("MessageSummary")}),
                    **_errors("404"),
                },
            }
        },
        "/messages/{message_id}": {
            "get": {
                "summary": "One message (HTML sanitised)",
                "parameters": [MESSAGE_ID],
                "responses": {**_ok(_ref("Message")), **_errors("404")},
            }
        },
        "/messages/{message_id}/raw": {
            "get": {
                "summary": "The exact bytes received",
                "parameters": [MESSAGE_ID],
                "responses": {
                    "200": {
                        "description": "message/rfc822",
                        "content": {
                            "message/rfc822": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    **_errors("404"),
                },
            }
        },
    }
    schemas = {
        "Me": {
            "type": "object",
            "properties": {
                "email": {"type": "string"},
                "balance": {"type": "integer", "description": "minor units"},
                "currency": {"type": "string"},
            },
        },
        "Service": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "price": {"type": "integer"},
                "window_minutes": {"type": "integer"},
                "rental_day_price": {"type": "integer"},
            },
        },
        "Domain": {"type": "object", "properties": {"domain": {"type": "string"}}},
        "NewOrder": {
            "type": "object",
            "required": ["service"],
            "properties": {
                "service": {"type": "string"},
                "domain": {"type": "string"},
                "kind": {"type": "string", "enum": ["activation", "rental"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 365},
                "regex": {"type": "string", "maxLength": 500},
                "sender": {"type": "string"},
                "subject": {"type": "string"},
            },
        },
        "Order": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "kind": {"type": "string", "enum": ["activation", "rental"]},
                "service": {"type": "string"},
                "email": {"type": "string"},
                "status": {
                    "type": "string",
                    "enum": ["waiting", "completed", "canceled", "expired", "active"],
                },
                "price": {"type": "integer"},
                "refunded": {"type": "boolean"},
                "code": nullable_str,
                "link": nullable_str,
                "value": nullable_str,
                "created_at": {"type": "string", "format": "date-time"},
                "expires_at": {"type": "string", "format": "date-time"},
                "completed_at": {"type": ["string", "null"], "format": "date-time"},
            },
        },
        "MessageSummary": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "from": {"type": "string"},
                "to": {"type": "string"},
                "subject": {"type": "string"},
                "received_at": {"type": "string", "format": "date-time"},
                "code": nullable_str,
                "link": nullable_str,
                "size": {"type": "integer"},
            },
        },
        "Message": {
            "allOf": [
                _ref("MessageSummary"),
                {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "html": {"type": "string"},
                        "parse_error": nullable_str,
                        "attachments": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "filename": {"type": "string"},
                                    "content_type": {"type": "string"},
                                    "size": {"type": "integer"},
                                },
                            },
                        },
                    },
                },
            ]
        },
        "Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        },
    }
    for item in paths.values():
        for operation in item.values():
            operation.setdefault("security", [{"apiKey": []}])
    return {
        "openapi": "3.1.0",
        "info": {"title": "otpinbox REST API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "An error",
                    "content": {"application/json": {"schema": _ref("Error")}},
                }
            },
        },
    }
