"""kopeechka.store's mail-activation API at the root paths (research/apis.md §1).

Existing kopeechka clients work unchanged once pointed at our host. Their rules shape
everything here:

- every call is a GET (POST also accepted) with ``token=<API key>``; ``type=TEXT`` answers
  ``OK|a|b`` / ``ERROR|CODE`` in text, anything else JSON;
- empty parameters mean "absent" and unknown ones (``soft``, ``investor``, ``clear``,
  ``password``, ``cost``, ...) are ignored;
- the answer is always HTTP 200: clients never look at the status, only at
  ``{"status": "OK", ...}`` with exactly the documented keys (kopeechka==8.0 builds strict
  dataclasses from the body) or ``{"status": "ERROR", "value": "<CODE>"}``;
- ids are strings of digits; money is in major units of the configured currency.

A kopeechka "activation" is our activation order; ``site`` names the service.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_precision
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from config import Settings
from models import catalog, compat_queries, errors, ledger, mail, orders
from models.abuse import Limits
from models.matching import validate_regex
from models.notify import order_channel, user_channel
from models.users import User, user_for_api_key

from .. import dbsession
from ..extensions import csrf

bp = Blueprint("kopeechka", __name__)

# Domain errors as kopeechka error values; the first matching class wins.
ERROR_VALUES: list[tuple[type[errors.DomainError], str]] = [
    # A suspended account may not use the API at all: to a client that is a dead token.
    (errors.AccountSuspended, "BAD_TOKEN"),
    (errors.InsufficientFunds, "BAD_BALANCE"),
    (errors.UnknownService, "BAD_SITE"),
    (errors.UnknownDomain, "BAD_DOMAIN"),
    (errors.OutOfStock, "OUT_OF_STOCK"),
    (errors.OrderNotFound, "NO_ACTIVATION"),
    (errors.OrderNotCancellable, "ACTIVATION_CANCELED"),
    (errors.ReorderNotPossible, "ACTIVATION_NOT_FOUND"),
    # Too many waiting orders, or the cancel-ratio cooldown: "slow down" in kopeechka terms.
    (errors.RateLimited, "TIME_LIMIT_EXCEED"),
]
HTTP_ERROR_VALUES = {401: "BAD_TOKEN", 403: "BAD_TOKEN", 429: "TIME_LIMIT_EXCEED"}
# Addresses are generated on demand (10 random characters of 32), so a domain's stock is
# effectively unlimited; mailbox-zones reports this number as its count.
UNLIMITED_STOCK = 1_000_000
DEFAULT_BULK_COUNT = 100


class KopeechkaError(Exception):
    """Answer ``{"status": "ERROR", "value": value}`` and undo the request's writes."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


def value_for(exc: errors.DomainError) -> str:
    return next((value for kind, value in ERROR_VALUES if isinstance(exc, kind)), "SYSTEM_ERROR")


def init_app(app: Flask, settings: Settings) -> None:
    """Serve the root paths, without CSRF (API clients), under the account's rate limit."""
    app.register_blueprint(bp)
    csrf.exempt(bp)
    limiter = app.extensions.get("otpinbox.limiter")
    if limiter is not None:
        # One budget per account for all kopeechka endpoints together (a shared scope).
        limiter.shared_limit(settings.rate_limit, scope="kopeechka", key_func=rate_limit_key)(bp)


def rate_limit_key() -> str:
    """``user:<id>`` as in the REST API, from the ``token`` query parameter (not a header)."""
    user = user_for_api_key(dbsession.session(), _param("token") or "")
    return f"user:{user.id}" if user is not None else f"ip:{request.remote_addr}"


# --- request and answer helpers -------------------------------------------------------


def _param(name: str) -> str | None:
    """A query (or form) parameter; clients send empty strings for "not given"."""
    value = request.values.get(name, "").strip()
    return value or None


def _text_mode() -> bool:
    return (_param("type") or "").upper() == "TEXT"


def _plain(body: str) -> Response:
    return Response(body, mimetype="text/plain")


def _ok(fields: dict[str, Any], text_fields: list[str] | None = None) -> Response:
    if _text_mode():
        return _plain("|".join(["OK", *(text_fields or [])]))
    return jsonify({"status": "OK", **fields})


def _error(value: str) -> Response:
    """An ERROR answer, still HTTP 200: clients read the body only."""
    if _text_mode():
        return _plain(f"ERROR|{value}")
    return jsonify({"status": "ERROR", "value": value})


def _discard_work() -> None:
    # The answer is a 200, so dbsession would commit it: undo what the failed call flushed
    # (an address drawn before the wallet turned out short, say).
    dbsession.session().rollback()


def _customer() -> User:
    user = user_for_api_key(dbsession.session(), _param("token") or "")
    if user is None or user.is_suspended:
        raise KopeechkaError("BAD_TOKEN")
    return user


def _major_units(amount: int) -> Decimal:
    """Minor units as the currency amount kopeechka clients expect: 1234 cents -> 12.34."""
    return Decimal(amount).scaleb(-get_currency_precision(dbsession.settings().currency))


def _number(amount: Decimal) -> float | int:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _limits() -> Limits:
    return Limits.from_settings(dbsession.settings())


def _notify(order: orders.Order) -> None:
    dbsession.after_commit([order_channel(order.id), user_channel(order.user_id)])


def _pick_domain(session: Any, mail_type: str | None) -> str | None:
    """The domain ``mail_type`` asks for: empty/ALL = any of ours; else a listed domain or zone.

    Webmail groups (REAL, YANDEX, OUTLOOK, ...) and ``mine`` name mailboxes we do not have.
    """
    wanted = [part.strip().lower() for part in (mail_type or "").split(",") if part.strip()]
    if not wanted or "all" in wanted:
        return None
    ours = [d.name for d in catalog.active_domains(session)]
    matching = [d for d in ours if any(d == w or d.endswith("." + w.lstrip(".")) for w in wanted)]
    if not matching:
        raise KopeechkaError("BAD_DOMAIN")
    return secrets.choice(matching)


def _service_or_none(session: Any, site: str | None) -> catalog.Service | None:
    return compat_queries.resolve_site(session, site) if site else None


# --- error handlers: every failure is a 200 with an ERROR body ------------------------


@bp.errorhandler(KopeechkaError)
def _kopeechka_error(exc: KopeechkaError) -> Response:
    _discard_work()
    return _error(exc.value)


@bp.errorhandler(errors.DomainError)
def _domain_error(exc: errors.DomainError) -> Response:
    _discard_work()
    return _error(value_for(exc))


@bp.errorhandler(429)  # by code too, so it wins over an app-wide 429 handler
@bp.errorhandler(500)  # and over the app's 503 for a commit that failed after the view
@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    _discard_work()
    return _error(HTTP_ERROR_VALUES.get(exc.code or 500, "SYSTEM_ERROR"))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    current_app.logger.exception("kopeechka API failure")
    _discard_work()
    return _error("SYSTEM_ERROR")


# --- endpoints -------------------------------------------------------------------------

METHODS = ["GET", "POST"]


@bp.route("/user-balance", methods=METHODS)
def user_balance() -> Response:
    user = _customer()
    amount = _major_units(ledger.balance(dbsession.session(), user.wallet))
    return _ok({"balance": _number(amount)}, [str(amount)])


@bp.route("/mailbox-get-email", methods=METHODS)
def get_email() -> Response:
    user = _customer()
    session = dbsession.session()
    site = _param("site")
    if site is None or "," in site:
        # One order matches one service's mail; several sites in one order are not offered.
        raise KopeechkaError("BAD_SITE")
    service = compat_queries.resolve_site(session, site)
    domain = _pick_domain(session, _param("mail_type"))
    regex = _param("regex")
    if regex:
        try:
            validate_regex(regex)
        except errors.InvalidInput:
            raise KopeechkaError("BAD_REGEX") from None
    order = orders.purchase(
        session,
        user,
        service.name,
        domain=domain,
        regex=regex,
        sender=_param("sender"),
        subject=_param("subject"),
        limits=_limits(),
    )
    _notify(order)
    return _ok({"id": order.public_id, "mail": order.email}, [order.public_id, order.email])


def _full_letter(session: Any, order: orders.Order) -> str:
    message = session.get(mail.Message, order.message_id) if order.message_id else None
    if message is None:
        return ""
    return message.html or message.text or ""


@bp.route("/mailbox-get-message", methods=METHODS)
def get_message() -> Response:
    user = _customer()
    session = dbsession.session()
    order = compat_queries.get_activation(session, user, _param("id") or "")
    before = order.status
    orders.finalize_if_due(session, order)
    if order.status != before:
        _notify(order)
    if order.status == orders.WAITING:
        return _error("WAIT_LINK")  # the normal "keep polling" answer; keeps the expiry above
    if order.status != orders.COMPLETED:
        return _error("ACTIVATION_CANCELED")
    full = _param("full") == "1"
    letter = _full_letter(session, order) if full else ""
    if _text_mode():
        return _plain(letter if full else order.value or "")
    return _ok({"value": order.value or "", "fullmessage": letter})


@bp.route("/mailbox-cancel", methods=METHODS)
def cancel() -> Response:
    user = _customer()
    session = dbsession.session()
    order = compat_queries.get_activation(session, user, _param("id") or "")
    _notify(orders.cancel(session, user, order.id))
    return _ok({})


@bp.route("/mailbox-reorder", methods=METHODS)
def reorder() -> Response:
    """A new paid activation on the address of the latest activation for (email, site).

    The new order keeps the first one's sender, subject and regex filters.
    """
    user = _customer()
    session = dbsession.session()
    email = _param("email")
    if email is None:
        raise KopeechkaError("NO_ACTIVATION")
    service = _service_or_none(session, _param("site"))
    source = orders.latest_order_for(session, user, email, service.name if service else None)
    if source.kind != orders.ACTIVATION:
        raise KopeechkaError("NO_ACTIVATION")
    order = orders.reorder(session, user, source.id, limits=_limits())
    _notify(order)
    return _ok({"id": order.public_id, "mail": order.email}, [order.public_id, order.email])


@bp.route("/mailbox-get-fresh-id", methods=METHODS)
def get_fresh_id() -> Response:
    user = _customer()
    session = dbsession.session()
    email = _param("email")
    if email is None:
        raise KopeechkaError("NO_ACTIVATION")
    try:
        service = _service_or_none(session, _param("site"))
    except errors.UnknownService:
        raise KopeechkaError("NO_ACTIVATION") from None
    order = orders.latest_order_for(session, user, email, service.name if service else None)
    if order.kind != orders.ACTIVATION:
        raise KopeechkaError("NO_ACTIVATION")
    return _ok({"id": order.public_id}, [order.public_id])


@bp.route("/mailbox-get-domains", methods=METHODS)
def get_domains() -> Response:
    _customer()
    names = [d.name for d in catalog.active_domains(dbsession.session())]
    return _ok({"count": len(names), "domains": names}, names)


@bp.route("/mailbox-zones", methods=METHODS)
def zones() -> Response:
    """Domains and zones (last labels) with the price of one activation.

    Public like a price list: a token is checked only when one is given. The cost is the
    ``site``'s price, else the cheapest service's.
    """
    if _param("token"):
        _customer()
    session = dbsession.session()
    service = _service_or_none(session, _param("site"))
    prices = [service.price] if service else [s.price for s in catalog.active_services(session)]
    cost = _number(_major_units(min(prices, default=0)))
    names = [d.name for d in catalog.active_domains(session)]
    fields: dict[str, Any] = {}
    if _param("zones") == "1":
        zone_names = sorted({name.rsplit(".", 1)[-1] for name in names})
        fields["zones"] = [{"name": zone, "cost": cost} for zone in zone_names]
    if _param("popular") == "1":
        fields["popular"] = [{"name": n, "cost": cost, "count": UNLIMITED_STOCK} for n in names]
    return _ok(fields, [f"{item['name']}:{cost}" for item in fields.get("popular", [])])


BULK_STATUS = {
    orders.WAITING: "READY",
    orders.COMPLETED: "DONE",
    orders.CANCELED: "CANCELED",
    orders.EXPIRED: "CANCELED",
}


def _bulk_item(order: orders.Order) -> dict[str, Any]:
    status = BULK_STATUS.get(order.status, "HISTORY")
    if order.status == orders.COMPLETED and order.released_at is not None:
        status = "HISTORY"  # the code was delivered and the customer let the address go
    return {
        "id": order.public_id,
        "service": order.service.name,
        "email": order.email,
        "date": int(order.created_at.timestamp()),
        "status": status,
        "value": order.value or "",
        "comment": order.comment or "",
    }


@bp.route("/mailbox-get-bulk", methods=METHODS)
def get_bulk() -> Response:
    user = _customer()
    session = dbsession.session()
    try:
        count = int(_param("count") or DEFAULT_BULK_COUNT)
    except ValueError:
        count = DEFAULT_BULK_COUNT
    found = compat_queries.search_activations(
        session,
        user,
        email=_param("email"),
        service=_service_or_none(session, _param("site")),
        comment=_param("comment"),
        limit=count,
    )
    items = [_bulk_item(order) for order in found]
    if _text_mode():
        return _plain("\n".join(":".join(str(v) for v in item.values()) for item in items))
    return _ok({"count": len(items), "items": items})


@bp.route("/mailbox-set-comment", methods=METHODS)
def set_comment() -> Response:
    user = _customer()
    comment = _param("comment")
    if comment is None:
        raise KopeechkaError("BAD_COMMENT")
    try:
        compat_queries.set_comment(dbsession.session(), user, _param("id") or "", comment)
    except errors.InvalidInput:
        raise KopeechkaError("BAD_COMMENT") from None
    return _ok({})
