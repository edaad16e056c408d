"""mail.tm's REST API under ``/compat/mailtm`` (research/apis.md §2), for free temp-mail users.

Point a mail.tm client's base URL at ``https://<host>/compat/mailtm`` and it works:
domains, accounts, token, me, messages, message, sources, seen, delete. Conventions kept:

- JSON-LD with the Hydra wrapper by default (``Accept`` absent, ``*/*`` or
  ``application/ld+json``); plain JSON (bare arrays, no ``@`` keys) for
  ``Accept: application/json``, as API Platform does;
- field sets exactly as documented, since clients build strict dataclasses from them;
  ``quota`` is left out (we enforce none), and so are attachment encodings we do not keep;
- 401 ``{"code": 401, "message": ...}`` (Lexik JWT), 422 constraint violations with
  ``detail``, other errors as ``hydra:Error``; pages of 30 with ``hydra:next`` only when
  another page exists.

The tier is off (404) unless ``OTPINBOX_MAILTM_OWNER`` names the account that owns its
mailboxes; see :mod:`models.mailtm`. Tokens are signed with the app's secret key.
"""

from __future__ import annotations

import json
import math
import re
from email.utils import getaddresses, parseaddr
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from config import Settings
from models import catalog, errors, mail, mailtm, users
from models.catalog import Domain

from .. import dbsession
from ..extensions import csrf
from ..sanitize import sanitize_html
from ..serializers import iso

bp = Blueprint("mailtm", __name__)
URL_PREFIX = "/compat/mailtm"
TOKEN_SALT = "otpinbox.mailtm.token"
LD_JSON = "application/ld+json"
INTRO_LENGTH = 120


def init_app(app: Flask, settings: Settings) -> None:
    """Serve the API, without CSRF (API clients), under mail.tm's per-IP rate limit."""
    app.register_blueprint(bp, url_prefix=URL_PREFIX)
    csrf.exempt(bp)
    limiter = app.extensions.get("otpinbox.limiter")
    if limiter is not None:
        limiter.shared_limit(
            settings.mailtm_rate_limit, scope="mailtm", key_func=lambda: request.remote_addr or ""
        )(bp)


# --- answers ---------------------------------------------------------------------------


def _plain_json_wanted() -> bool:
    best = request.accept_mimetypes.best_match([LD_JSON, "application/json"], default=LD_JSON)
    return best == "application/json"


def _without_ld(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ld(v) for k, v in value.items() if not k.startswith("@")}
    if isinstance(value, list):
        return [_without_ld(v) for v in value]
    return value


def _answer(body: Any, status: int = 200) -> Response:
    if _plain_json_wanted():
        if isinstance(body, dict) and "hydra:member" in body:
            body = body["hydra:member"]
        body, mimetype = _without_ld(body), "application/json"
    else:
        mimetype = LD_JSON
    return Response(json.dumps(body), status=status, mimetype=mimetype)


def _problem(status: int, detail: str) -> Response:
    if status == 401:  # Lexik JWT's shape, which clients read as code/message
        return Response(
            json.dumps({"code": 401, "message": detail}), status, mimetype="application/json"
        )
    body: dict[str, Any] = {
        "@context": "/contexts/Error",
        "@type": "hydra:Error",
        "hydra:title": "An error occurred",
        "hydra:description": detail,
        "title": "An error occurred",
        "detail": detail,
    }
    if status == 422:
        path, _, message = detail.partition(": ")
        body.update(
            {
                "@context": "/contexts/ConstraintViolationList",
                "@type": "ConstraintViolationList",
                "violations": [{"propertyPath": path, "message": message or detail}],
            }
        )
    return Response(json.dumps(body), status, mimetype="application/problem+json")


def _collection(
    kind: str, iri: str, members: list[dict[str, Any]], total: int, page: int
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@context": f"/contexts/{kind}",
        "@id": iri,
        "@type": "hydra:Collection",
        "hydra:member": members,
        "hydra:totalItems": total,
    }
    last = max(1, math.ceil(total / mailtm.PAGE_SIZE))
    if last > 1:
        view = {
            "@id": f"{iri}?page={page}",
            "@type": "hydra:PartialCollectionView",
            "hydra:first": f"{iri}?page=1",
            "hydra:last": f"{iri}?page={last}",
        }
        if page > 1:
            view["hydra:previous"] = f"{iri}?page={page - 1}"
        if page < last:
            view["hydra:next"] = f"{iri}?page={page + 1}"
        body["hydra:view"] = view
    return body


# --- errors ----------------------------------------------------------------------------


class Unauthorized(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@bp.errorhandler(Unauthorized)
def _unauthorized(exc: Unauthorized) -> Response:
    return _problem(401, exc.message)


@bp.errorhandler(errors.DomainError)
def _domain_error(exc: errors.DomainError) -> Response:
    if isinstance(exc, errors.AuthenticationFailed):
        return _problem(401, exc.message)
    if isinstance(exc, errors.NotFound):
        return _problem(404, "Not Found")
    if isinstance(exc, errors.InvalidInput | errors.Conflict):
        return _problem(422, exc.message)
    return _problem(400, exc.message)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    # Flask-Limiter adds Retry-After to a 429 after this handler.
    return _problem(exc.code or 500, exc.description or exc.name)


@bp.before_request
def _tier_enabled() -> None:
    if not dbsession.settings().mailtm_owner:
        raise errors.NotFound("the mail.tm-compatible API is not enabled")


# --- helpers ---------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def _token_for(account: mailtm.MailtmAccount) -> str:
    return _serializer().dumps({"account": account.id})


def _account() -> mailtm.MailtmAccount:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("JWT Token not found")
    max_age = dbsession.settings().mailtm_days * 86400
    try:
        claims = _serializer().loads(token.strip(), max_age=max_age)
        return mailtm.live_account(dbsession.session(), claims["account"])
    except (BadSignature, KeyError, TypeError, errors.NotFound):
        raise Unauthorized("Invalid JWT Token") from None


def _page() -> int:
    raw = request.args.get("page", "1")
    if not re.fullmatch(r"[1-9][0-9]{0,5}", raw):
        raise errors.InvalidInput(f"page: {raw!r} is not a valid page number")
    return int(raw)


def _body() -> dict[str, Any]:
    # Clients send application/json, ld+json or merge-patch+json: read any of them.
    body = request.get_json(force=True, silent=True) if request.data else {}
    if not isinstance(body, dict):
        raise errors.InvalidInput("body: a JSON object is required")
    return body


def _domain_json(domain: Domain) -> dict[str, Any]:
    return {
        "@id": f"/domains/{domain.id}",
        "@type": "Domain",
        "id": str(domain.id),
        "domain": domain.name,
        "isActive": domain.active,
        "isPrivate": False,
        "createdAt": iso(domain.created_at),
        "updatedAt": iso(domain.created_at),
    }


def _account_json(account: mailtm.MailtmAccount) -> dict[str, Any]:
    return {
        "@context": "/contexts/Account",
        "@id": f"/accounts/{account.id}",
        "@type": "Account",
        "id": str(account.id),
        "address": account.email,
        "used": mailtm.used_bytes(dbsession.session(), account),
        "isDisabled": False,
        "isDeleted": account.deleted_at is not None,
        "createdAt": iso(account.created_at),
        "updatedAt": iso(account.updated_at),
    }


def _recipient(name: str, address: str) -> dict[str, str]:
    return {"name": name, "address": address}


def _message_common(
    message: mail.Message, account: mailtm.MailtmAccount, seen: bool
) -> dict[str, Any]:
    name, address = parseaddr(message.from_header or "")
    recipients = [_recipient(n, a) for n, a in getaddresses([message.to_header or ""]) if a] or [
        _recipient("", message.rcpt_to)
    ]
    return {
        "@id": f"/messages/{message.id}",
        "@type": "Message",
        "id": str(message.id),
        "accountId": f"/accounts/{account.id}",
        "msgid": message.message_id_header,
        "from": _recipient(name, address or message.mail_from),
        "to": recipients,
        "subject": message.subject,
        "seen": seen,
        "isDeleted": False,
        "hasAttachments": bool(message.attachments),
        "size": message.size,
        "downloadUrl": f"/messages/{message.id}/download",
        "createdAt": iso(message.received_at),
        "updatedAt": iso(message.received_at),
    }


def _message_summary(
    message: mail.Message, account: mailtm.MailtmAccount, seen: bool
) -> dict[str, Any]:
    intro = " ".join((message.text or "").split())[:INTRO_LENGTH]
    return {**_message_common(message, account, seen), "intro": intro}


def _message_detail(
    message: mail.Message, account: mailtm.MailtmAccount, seen: bool
) -> dict[str, Any]:
    return {
        "@context": "/contexts/Message",
        **_message_common(message, account, seen),
        "cc": [],
        "bcc": [],
        "flagged": False,
        # Our convention for mail.tm's undocumented list: the extracted code and link.
        "verifications": [v for v in (message.code, message.link) if v],
        "text": message.text or "",
        "html": [sanitize_html(message.html)] if message.html else [],
        "attachments": [
            {
                "id": str(a.id),
                "filename": a.filename,
                "contentType": a.content_type,
                "disposition": "attachment",
                "size": a.size,
                "downloadUrl": f"/messages/{message.id}/attachments/{a.id}",
            }
            for a in message.attachments
        ],
    }


# --- domains, accounts, token ----------------------------------------------------------


@bp.get("/domains")
def domains() -> Response:
    page = _page()
    found = catalog.active_domains(dbsession.session())
    start = (page - 1) * mailtm.PAGE_SIZE
    members = [_domain_json(d) for d in found[start : start + mailtm.PAGE_SIZE]]
    return _answer(_collection("Domain", "/domains", members, len(found), page))


@bp.get("/domains/<domain_id>")
def domain(domain_id: str) -> Response:
    found = next(
        (d for d in catalog.active_domains(dbsession.session()) if str(d.id) == domain_id), None
    )
    if found is None:
        raise errors.NotFound()
    return _answer({"@context": "/contexts/Domain", **_domain_json(found)})


@bp.post("/accounts")
def create_account() -> Response:
    body = _body()
    address, password = body.get("address"), body.get("password")
    if not isinstance(address, str) or not address:
        raise errors.InvalidInput("address: This value should not be blank.")
    if not isinstance(password, str) or not password:
        raise errors.InvalidInput("password: This value should not be blank.")
    settings = dbsession.settings()
    session = dbsession.session()
    try:
        owner = users.get_user(session, settings.mailtm_owner)
    except errors.NotFound:
        current_app.logger.error("OTPINBOX_MAILTM_OWNER %r has no account", settings.mailtm_owner)
        raise errors.NotFound() from None
    try:
        account = mailtm.create_account(
            session,
            owner,
            address,
            password,
            service_name=settings.mailtm_service,
            days=settings.mailtm_days,
        )
    except errors.InvalidInput as exc:
        message = exc.message if ": " in exc.message else f"password: {exc.message}"
        raise errors.InvalidInput(message) from None
    return _answer(_account_json(account), 201)


@bp.post("/token")
def token() -> Response:
    body = _body()
    account = mailtm.authenticate(
        dbsession.session(), str(body.get("address") or ""), str(body.get("password") or "")
    )
    return _answer({"id": str(account.id), "token": _token_for(account)})


@bp.get("/me")
def me() -> Response:
    return _answer(_account_json(_account()))


def _own_account(account_id: str) -> mailtm.MailtmAccount:
    account = _account()
    if str(account.id) != account_id:
        # mail.tm: "the Bearer token needs to be the one of the account you are retrieving".
        raise errors.NotFound()
    return account


@bp.get("/accounts/<account_id>")
def get_account(account_id: str) -> Response:
    return _answer(_account_json(_own_account(account_id)))


@bp.delete("/accounts/<account_id>")
def delete_account(account_id: str) -> Response:
    mailtm.delete_account(dbsession.session(), _own_account(account_id))
    return Response(status=204)


# --- messages --------------------------------------------------------------------------


@bp.get("/messages")
def messages() -> Response:
    account = _account()
    page = _page()
    rows, total = mailtm.list_messages(dbsession.session(), account, page)
    members = [_message_summary(m, account, seen) for m, seen in rows]
    return _answer(_collection("Message", "/messages", members, total, page))


@bp.get("/messages/<message_id>")
def message(message_id: str) -> Response:
    account = _account()
    found, seen = mailtm.get_message(dbsession.session(), account, message_id)
    return _answer(_message_detail(found, account, seen))


@bp.patch("/messages/<message_id>")
def mark_seen(message_id: str) -> Response:
    body = _body()
    seen = body.get("seen", True)  # mailtm-python sends no body at all: that means "seen"
    if not isinstance(seen, bool):
        raise errors.InvalidInput("seen: This value should be of type bool.")
    mailtm.set_flags(dbsession.session(), _account(), message_id, seen=seen)
    return _answer({"seen": seen})


@bp.delete("/messages/<message_id>")
def delete_message(message_id: str) -> Response:
    mailtm.set_flags(dbsession.session(), _account(), message_id, deleted=True)
    return Response(status=204)


@bp.get("/messages/<message_id>/download")
def download(message_id: str) -> Response:
    session = dbsession.session()
    found, _ = mailtm.get_message(session, _account(), message_id)
    response = Response(mail.raw_bytes(session, found), mimetype="message/rfc822")
    response.headers["Content-Disposition"] = f'attachment; filename="{found.id}.eml"'
    return response


@bp.get("/messages/<message_id>/attachments/<attachment_id>")
def attachment(message_id: str, attachment_id: str) -> Response:
    found, _ = mailtm.get_message(dbsession.session(), _account(), message_id)
    part = next((a for a in found.attachments if str(a.id) == attachment_id), None)
    if part is None:
        raise errors.NotFound()
    response = Response(part.content, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = "attachment"
    return response


@bp.get("/sources/<message_id>")
def source(message_id: str) -> Response:
    session = dbsession.session()
    found, _ = mailtm.get_message(session, _account(), message_id)
    return _answer(
        {
            "@context": "/contexts/Source",
            "@id": f"/sources/{found.id}",
            "@type": "Source",
            "id": str(found.id),
            "downloadUrl": f"/messages/{found.id}/download",
            "data": mail.raw_bytes(session, found).decode("utf-8", errors="replace"),
        }
    )
