"""Reseller API: sub-accounts (create, fund, reclaim, suspend, keys), prices, orders, spending.

Every route answers 403 ``not_a_reseller`` to an account that is not one, and 404 for a
sub-account of another reseller. The business rules are in :mod:`models.resellers`.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from models import ledger, resellers
from models.base import parse_id
from models.errors import InvalidInput
from models.users import User

from .. import dbsession
from ..auth import client_ip
from ..serializers import iso, order_json
from . import bp
from .auth import api_user, require_api_key
from .idempotency import idempotent


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and request.data:
        raise InvalidInput("the body must be a JSON object")
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


def _amount(body: dict[str, Any]) -> int:
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput("amount must be an integer (minor units)")
    return amount


def _sub_json(user: User, label: str = "") -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "label": label,
        "balance": ledger.balance(dbsession.session(), user.wallet),
        "suspended": user.is_suspended,
        "created_at": iso(user.created_at),
    }


def _label(user: User) -> str:
    row = dbsession.session().get(resellers.SubAccount, user.id)
    return row.label if row else ""


@bp.get("/reseller/sub-accounts")
@require_api_key
def reseller_sub_accounts():  # type: ignore[no-untyped-def]
    rows = resellers.list_sub_accounts(dbsession.session(), api_user())
    return jsonify([_sub_json(user, sub.label) for user, sub in rows])


@bp.post("/reseller/sub-accounts")
@require_api_key
def reseller_create_sub_account():  # type: ignore[no-untyped-def]
    body = _body()
    email, label = body.get("email"), body.get("label", "")
    if not isinstance(email, str) or not isinstance(label, str):
        raise InvalidInput("email (and label) must be strings")
    user = resellers.create_sub_account(
        dbsession.session(), api_user(), email, label=label, ip=client_ip()
    )
    response = jsonify(_sub_json(user, label[:100]))
    response.status_code = 201
    response.headers["Location"] = url_for("api.reseller_sub_account", sub_id=user.id)
    return response


@bp.get("/reseller/sub-accounts/<sub_id>")
@require_api_key
def reseller_sub_account(sub_id: str):  # type: ignore[no-untyped-def]
    user = resellers.get_sub_account(dbsession.session(), api_user(), sub_id)
    return jsonify(_sub_json(user, _label(user)))


@bp.post("/reseller/sub-accounts/<sub_id>/fund")
@require_api_key
@idempotent
def reseller_fund(sub_id: str):  # type: ignore[no-untyped-def]
    session = dbsession.session()
    resellers.fund_sub_account(session, api_user(), sub_id, _amount(_body()), ip=client_ip())
    user = resellers.get_sub_account(session, api_user(), sub_id)
    return jsonify(_sub_json(user, _label(user)))


@bp.post("/reseller/sub-accounts/<sub_id>/reclaim")
@require_api_key
@idempotent
def reseller_reclaim(sub_id: str):  # type: ignore[no-untyped-def]
    session = dbsession.session()
    resellers.reclaim_from_sub_account(
        session, api_user(), sub_id, _amount(_body()), ip=client_ip()
    )
    user = resellers.get_sub_account(session, api_user(), sub_id)
    return jsonify(_sub_json(user, _label(user)))


@bp.post("/reseller/sub-accounts/<sub_id>/suspend")
@require_api_key
def reseller_suspend(sub_id: str):  # type: ignore[no-untyped-def]
    user = resellers.set_sub_account_suspended(
        dbsession.session(), api_user(), sub_id, True, ip=client_ip()
    )
    return jsonify(_sub_json(user, _label(user)))


@bp.post("/reseller/sub-accounts/<sub_id>/unsuspend")
@require_api_key
def reseller_unsuspend(sub_id: str):  # type: ignore[no-untyped-def]
    user = resellers.set_sub_account_suspended(
        dbsession.session(), api_user(), sub_id, False, ip=client_ip()
    )
    return jsonify(_sub_json(user, _label(user)))


@bp.post("/reseller/sub-accounts/<sub_id>/api-keys")
@require_api_key
def reseller_sub_account_key(sub_id: str):  # type: ignore[no-untyped-def]
    name = _body().get("name", "")
    if not isinstance(name, str):
        raise InvalidInput("name must be a string")
    key, secret = resellers.create_sub_account_key(dbsession.session(), api_user(), sub_id, name)
    response = jsonify({"id": str(key.id), "prefix": key.prefix, "key": secret})
    response.status_code = 201
    return response


def _cursor() -> tuple[int, int | None]:
    try:
        limit = int(request.args.get("limit", 50))
        before = request.args.get("before")
        cursor = parse_id(before) if before else None
        if before and cursor is None:
            raise ValueError(before)
    except ValueError:
        raise InvalidInput("limit and before must be integers") from None
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200")
    return limit, cursor


@bp.get("/reseller/orders")
@require_api_key
def reseller_orders():  # type: ignore[no-untyped-def]
    limit, cursor = _cursor()
    sub = request.args.get("sub_account")
    found = resellers.sub_account_orders(
        dbsession.session(), api_user(), sub_id=sub or None, before=cursor, limit=limit
    )
    return jsonify([{"sub_account": str(o.user_id), "order": order_json(o)} for o in found])


@bp.get("/reseller/prices")
@require_api_key
def reseller_prices():  # type: ignore[no-untyped-def]
    rows = resellers.price_list(dbsession.session(), api_user())
    return jsonify([_price_json(service, markup, day) for service, markup, day in rows])


def _price_json(service: Any, markup: int, day_markup: int) -> dict[str, Any]:
    return {
        "service": service.name,
        "our_price": service.price,
        "markup": markup,
        "price": service.price + markup,
        "our_rental_day_price": service.rental_day_price,
        "rental_day_markup": day_markup,
        "rental_day_price": service.rental_day_price + day_markup,
    }


@bp.put("/reseller/prices/<service>")
@require_api_key
def reseller_set_price(service: str):  # type: ignore[no-untyped-def]
    body = _body()
    row = resellers.set_price(
        dbsession.session(),
        api_user(),
        service,
        markup=body.get("markup"),  # type: ignore[arg-type]  (validated by the model)
        rental_day_markup=body.get("rental_day_markup", 0),
        ip=client_ip(),
    )
    found = next(
        r
        for r in resellers.price_list(dbsession.session(), api_user())
        if r[0].id == row.service_id
    )
    return jsonify(_price_json(*found))


@bp.get("/reseller/spending")
@require_api_key
def reseller_spending():  # type: ignore[no-untyped-def]
    rows = resellers.spending(dbsession.session(), api_user())
    return jsonify(
        [
            {
                "sub_account": str(r.user_id),
                "email": r.email,
                "balance": r.balance,
                "orders": r.orders,
                "spent": r.spent,
                "markup_earned": r.markup_earned,
            }
            for r in rows
        ]
    )
