"""The OpenAPI 3 document of REST API v1 (kept next to the routes it describes).

``tests/web/test_openapi.py`` fails when a route under ``/api/v1`` is missing here (or a
documented one has no route), and runs schemathesis against the app over real HTTP: no
5xx, and every answer matches its documented status, content type and schema.
"""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}


def _ok(schema: dict[str, Any], status: str = "200", description: str = "OK") -> dict[str, Any]:
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def _errors(*codes: str) -> dict[str, Any]:
    # Every operation needs a key (401), may meet a suspended account (403) or the rate
    # limit (429, with Retry-After).
    return {code: ERROR for code in sorted({"401", "403", "429", *codes})}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _binary(media_type: str, description: str) -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def _event_stream() -> dict[str, Any]:
    return {
        "200": {
            "description": "text/event-stream; each data line is an Order or a MessageSummary",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    }


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object with exactly these keys, all required unless named in ``optional``."""
    return {
        "type": "object",
        "required": [name for name in properties if name not in optional],
        "properties": properties,
        "additionalProperties": False,
    }


ORDER_ID = _path_id("order_id")
MESSAGE_ID = _path_id("message_id")
ATTACHMENT_ID = _path_id("attachment_id")
WEBHOOK_ID = _path_id("webhook_id")
LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 200},
}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Replays the first answer for a repeated key; 422 if reused with other input.",
}
STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
INTEGER = {"type": "integer"}


def _paths() -> dict[str, Any]:
    return {
        "/me": {"get": {"summary": "Your account", "responses": {**_ok(_ref("Me")), **_errors()}}},
        "/services": {
            "get": {
                "summary": "Services on sale",
                "responses": {**_ok(_array("Service")), **_errors()},
            }
        },
        "/domains": {
            "get": {
                "summary": "Mail domains",
                "responses": {**_ok(_array("Domain")), **_errors()},
            }
        },
        "/orders": {
            "post": {
                "summary": "Buy an activation or a rental",
                "parameters": [IDEMPOTENCY],
                "requestBody": _json_body(_ref("NewOrder")),
                "responses": {
                    **_ok(_ref("Order"), "201", "Created"),
                    **_errors("400", "402", "404", "409", "422"),
                },
            },
            "get": {
                "summary": "Your orders, newest first (Link: rel=next for the next page)",
                "parameters": [
                    LIMIT,
                    {
                        "name": "before",
                        "in": "query",
                        "description": "an order id: the page ends just below it",
                        "schema": {"type": "integer", "format": "int32"},
                    },
                ],
                "responses": {**_ok(_array("Order")), **_errors("400")},
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
                "responses": {**_ok(_ref("Order")), **_errors("400", "404", "409", "422")},
            }
        },
        "/orders/{order_id}/reorder": {
            "post": {
                "summary": "A new paid activation on the same address",
                "parameters": [ORDER_ID, IDEMPOTENCY],
                "responses": {
                    **_ok(_ref("Order"), "201", "Created"),
                    **_errors("400", "402", "404", "409", "422"),
                },
            }
        },
        "/orders/{order_id}/extend": {
            "post": {
                "summary": "Extend an active rental",
                "parameters": [ORDER_ID, IDEMPOTENCY],
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["days"],
                        "properties": {"days": {"type": "integer", "minimum": 1}},
                    }
                ),
                "responses": {**_ok(_ref("Order")), **_errors("400", "402", "404", "409", "422")},
            }
        },
        "/orders/{order_id}/events": {
            "get": {
                "summary": "Server-Sent Events for one order: its state first, then every change "
                "(event: order) and each new message (event: message)",
                "parameters": [ORDER_ID],
                "responses": {**_event_stream(), **_errors("404")},
            }
        },
        "/events": {
            "get": {
                "summary": "Server-Sent Events for the whole account: order changes and new "
                "messages from now on",
                "responses": {**_event_stream(), **_errors()},
            }
        },
        "/orders/{order_id}/messages": {
            "get": {
                "summary": "Messages received for an order, newest first",
                "parameters": [ORDER_ID],
                "responses": {**_ok(_array("MessageSummary")), **_errors("404")},
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
                "responses": {**_binary("message/rfc822", "The raw message"), **_errors("404")},
            }
        },
        "/attachments/{attachment_id}": {
            "get": {
                "summary": "An attachment's bytes, as a download",
                "parameters": [ATTACHMENT_ID],
                "responses": {
                    **_binary("application/octet-stream", "The attachment"),
                    **_errors("404"),
                },
            }
        },
        "/webhooks": {
            "post": {
                "summary": "Register a webhook endpoint; the signing secret is shown once",
                "requestBody": _json_body(_ref("NewWebhook")),
                "responses": {
                    **_ok(_ref("WebhookWithSecret"), "201", "Created"),
                    **_errors("400", "409"),
                },
            },
            "get": {
                "summary": "Your webhook endpoints",
                "responses": {**_ok(_array("Webhook")), **_errors()},
            },
        },
        "/webhooks/{webhook_id}": {
            "get": {
                "summary": "One webhook endpoint",
                "parameters": [WEBHOOK_ID],
                "responses": {**_ok(_ref("Webhook")), **_errors("404")},
            },
            "delete": {
                "summary": "Remove a webhook endpoint",
                "parameters": [WEBHOOK_ID],
                "responses": {"204": {"description": "Deleted"}, **_errors("404")},
            },
        },
        "/webhooks/{webhook_id}/deliveries": {
            "get": {
                "summary": "The delivery log of an endpoint, newest first",
                "parameters": [WEBHOOK_ID, LIMIT],
                "responses": {**_ok(_array("WebhookDelivery")), **_errors("400", "404")},
            }
        },
        **_business_paths(),
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


SUB_ID = _path_id("sub_id")
SERVICE_NAME = _path_id("service")
AMOUNT_BODY = _json_body(
    {
        "type": "object",
        "required": ["amount"],
        "properties": {"amount": {"type": "integer", "minimum": 1}},
    }
)


def _reseller_op(summary: str, ok: dict[str, Any], *codes: str, **extra: Any) -> dict[str, Any]:
    """A reseller route: 403 not_a_reseller for other accounts, 404 for others' customers."""
    return {"summary": summary, **extra, "responses": {**ok, **_errors("400", "404", *codes)}}


def _business_paths() -> dict[str, Any]:
    """Resellers and terms (issue 9): docs/operations.md has the business rules."""
    sub = _ok(_ref("SubAccount"))
    return {
        "/reseller/sub-accounts": {
            "get": _reseller_op("Your sub-accounts", _ok(_array("SubAccount"))),
            "post": _reseller_op(
                "Create a sub-account (empty wallet)",
                _ok(_ref("SubAccount"), "201", "Created"),
                "409",
                requestBody=_json_body(
                    {
                        "type": "object",
                        "required": ["email"],
                        "properties": {"email": STRING, "label": {"type": "string"}},
                    }
                ),
            ),
        },
        "/reseller/sub-accounts/{sub_id}": {
            "get": _reseller_op("One sub-account", sub, parameters=[SUB_ID])
        },
        "/reseller/sub-accounts/{sub_id}/fund": {
            "post": _reseller_op(
                "Move money from your wallet to the sub-account's",
                sub,
                "402",
                "422",
                parameters=[SUB_ID, IDEMPOTENCY],
                requestBody=AMOUNT_BODY,
            )
        },
        "/reseller/sub-accounts/{sub_id}/reclaim": {
            "post": _reseller_op(
                "Move unspent money back from the sub-account",
                sub,
                "402",
                "422",
                parameters=[SUB_ID, IDEMPOTENCY],
                requestBody=AMOUNT_BODY,
            )
        },
        "/reseller/sub-accounts/{sub_id}/suspend": {
            "post": _reseller_op("Suspend the sub-account", sub, parameters=[SUB_ID])
        },
        "/reseller/sub-accounts/{sub_id}/unsuspend": {
            "post": _reseller_op("Lift your suspension", sub, parameters=[SUB_ID])
        },
        "/reseller/sub-accounts/{sub_id}/api-keys": {
            "post": _reseller_op(
                "A new API key for the sub-account (shown once)",
                _ok(_object({"id": STRING, "prefix": STRING, "key": STRING}), "201", "Created"),
                parameters=[SUB_ID],
            )
        },
        "/reseller/orders": {
            "get": _reseller_op(
                "Your customers' orders, newest first",
                _ok({"type": "array", "items": _ref("ResellerOrder")}),
                parameters=[
                    LIMIT,
                    {"name": "before", "in": "query", "schema": {"type": "integer"}},
                    {"name": "sub_account", "in": "query", "schema": STRING},
                ],
            )
        },
        "/reseller/prices": {
            "get": _reseller_op("Your prices per service", _ok(_array("ResellerPrice")))
        },
        "/reseller/prices/{service}": {
            "put": _reseller_op(
                "Set your markup for a service",
                _ok(_ref("ResellerPrice")),
                parameters=[SERVICE_NAME],
                requestBody=_json_body(
                    {
                        "type": "object",
                        "required": ["markup"],
                        "properties": {
                            "markup": {"type": "integer", "minimum": 0},
                            "rental_day_markup": {"type": "integer", "minimum": 0},
                        },
                    }
                ),
            )
        },
        "/reseller/spending": {
            "get": _reseller_op(
                "Per sub-account: balance, orders, spent, markup earned", _ok(_array("Spending"))
            )
        },
        "/terms": {
            "get": {
                "summary": "The current terms and privacy policy, and whether you accepted them",
                "responses": {**_ok(_array("LegalVersion")), **_errors()},
            }
        },
        "/terms/accept": {
            "post": {
                "summary": "Accept current versions (ids from GET /terms)",
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["versions"],
                        "properties": {"versions": {"type": "array", "items": STRING}},
                    }
                ),
                "responses": {**_ok(_array("LegalVersion")), **_errors("400", "409")},
            }
        },
    }


def _business_schemas() -> dict[str, Any]:
    money = {"type": "integer", "description": "minor units"}
    return {
        "SubAccount": _object(
            {
                "id": STRING,
                "email": STRING,
                "label": STRING,
                "balance": money,
                "suspended": {"type": "boolean"},
                "created_at": TIME,
            }
        ),
        "ResellerOrder": _object({"sub_account": STRING, "order": _ref("Order")}),
        "ResellerPrice": _object(
            {
                "service": STRING,
                "our_price": money,
                "markup": money,
                "price": money,
                "our_rental_day_price": money,
                "rental_day_markup": money,
                "rental_day_price": money,
            }
        ),
        "Spending": _object(
            {
                "sub_account": STRING,
                "email": STRING,
                "balance": money,
                "orders": INTEGER,
                "spent": money,
                "markup_earned": money,
            }
        ),
        "LegalVersion": _object(
            {
                "id": STRING,
                "document": {"type": "string", "enum": ["terms", "privacy"]},
                "version": INTEGER,
                "summary": STRING,
                "published_at": TIME,
                "accepted": {"type": "boolean"},
                "url": STRING,
            }
        ),
    }


def _schemas() -> dict[str, Any]:
    message_summary = {
        "id": STRING,
        "order_id": NULLABLE_STRING,
        "from": STRING,
        "to": STRING,
        "subject": STRING,
        "received_at": TIME,
        "code": NULLABLE_STRING,
        "link": NULLABLE_STRING,
        "size": INTEGER,
    }
    webhook = {
        "id": STRING,
        "url": STRING,
        "events": {"type": "array", "items": _ref("WebhookEvent")},
        "created_at": TIME,
    }
    return {
        "Me": _object(
            {
                "email": STRING,
                "balance": {"type": "integer", "description": "minor units"},
                "currency": STRING,
            }
        ),
        "Service": _object(
            {
                "name": STRING,
                "price": {"type": "integer", "description": "minor units"},
                "window_minutes": INTEGER,
                "rental_day_price": {"type": "integer", "description": "minor units"},
            }
        ),
        "Domain": _object({"domain": STRING}),
        "NewOrder": {
            "type": "object",
            "required": ["service"],
            "properties": {
                "service": STRING,
                "domain": STRING,
                "kind": {"type": "string", "enum": ["activation", "rental"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 365},
                "regex": {"type": "string", "maxLength": 500},
                "sender": STRING,
                "subject": STRING,
            },
        },
        "Order": _object(
            {
                "id": STRING,
                "kind": {"type": "string", "enum": ["activation", "rental"]},
                "service": STRING,
                "email": STRING,
                "status": {
                    "type": "string",
                    "enum": ["waiting", "completed", "canceled", "expired", "active"],
                },
                "price": {"type": "integer", "description": "minor units"},
                "refunded": {"type": "boolean"},
                "code": NULLABLE_STRING,
                "link": NULLABLE_STRING,
                "value": {
                    "type": ["string", "null"],
                    "description": "the customer's regex match, else the code, else the link",
                },
                "created_at": TIME,
                "expires_at": TIME,
                "completed_at": NULLABLE_TIME,
            }
        ),
        "MessageSummary": _object(message_summary, optional=("order_id",)),
        "Message": _object(
            {
                **message_summary,
                "text": STRING,
                "html": {"type": "string", "description": "sanitised"},
                "parse_error": NULLABLE_STRING,
                "attachments": {
                    "type": "array",
                    "items": _object(
                        {
                            "id": STRING,
                            "filename": STRING,
                            "content_type": STRING,
                            "size": INTEGER,
                        }
                    ),
                },
            },
            optional=("order_id",),
        ),
        "WebhookEvent": {"type": "string", "enum": ["order.completed", "message.received"]},
        "NewWebhook": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "format": "uri"},
                "events": {"type": "array", "items": _ref("WebhookEvent")},
            },
        },
        "Webhook": _object(webhook),
        "WebhookWithSecret": _object({**webhook, "secret": STRING}),
        "WebhookDelivery": _object(
            {
                "id": STRING,
                "event_id": STRING,
                "event": _ref("WebhookEvent"),
                "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                "attempts": INTEGER,
                "last_status_code": {"type": ["integer", "null"]},
                "last_error": NULLABLE_STRING,
                "created_at": TIME,
                "delivered_at": NULLABLE_TIME,
                "next_attempt_at": NULLABLE_TIME,
            }
        ),
        **_business_schemas(),
        "Error": _object(
            {
                "error": _object(
                    # url: where to read and accept the terms (terms_not_accepted only)
                    {"code": STRING, "message": STRING, "url": STRING},
                    optional=("url",),
                )
            }
        ),
    }


def document() -> dict[str, Any]:
    paths = _paths()
    for item in paths.values():
        for operation in item.values():
            operation.setdefault("security", [{"apiKey": []}])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "otpinbox REST API",
            "version": "1",
            "description": "Amounts are integers in minor units of the configured currency. "
            'Errors are {"error": {"code", "message"}}.',
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "An error",
                    "content": {"application/json": {"schema": _ref("Error")}},
                }
            },
        },
    }
