"""Business operations the compatibility APIs (kopeechka, mail.tm) need beyond the core ones.

kopeechka names a service by the site it is for (``discord.com``) and lets a customer tag
and search activations; these functions give the transport exactly that, on the same
``orders`` table and under the same rules as the REST API.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .base import parse_id
from .catalog import Address, Domain, Service, get_service, normalize_domain
from .errors import InvalidInput, OrderNotFound, UnknownService
from .orders import ACTIVATION, Order
from .users import User

MAX_COMMENT_LENGTH = 500
MAX_SEARCH_RESULTS = 500


def resolve_site(session: Session, site: str) -> Service:
    """The service a kopeechka ``site`` names: its exact name, else the site's first label.

    kopeechka clients send a site's domain (``discord.com``, ``www.twitter.com``) where we
    name services by brand (``discord``); both spellings find the same service. Anything
    else is :class:`UnknownService`: we never fall back to the catch-all service, whose
    price and sender filter differ from what the customer asked for.
    """
    name = (site or "").strip().lower()
    if not name:
        raise UnknownService("a site is required")
    try:
        return get_service(session, name)
    except UnknownService:
        pass
    label = name.removeprefix("www.").split(".", 1)[0]
    if label and label != name:
        return get_service(session, label)
    raise UnknownService(f"no service {site!r}")


def get_activation(session: Session, user: User, order_id: int | str) -> Order:
    """An activation of ``user``; rentals and other users' orders are :class:`OrderNotFound`."""
    oid = parse_id(order_id)
    if oid is None:
        raise OrderNotFound()
    order = session.get(Order, oid, populate_existing=True)
    if order is None or order.user_id != user.id or order.kind != ACTIVATION:
        raise OrderNotFound()
    return order


def set_comment(session: Session, user: User, order_id: int | str, comment: str) -> Order:
    """Attach the customer's free-text label to one of their activations."""
    comment = (comment or "").strip()
    if not comment or len(comment) > MAX_COMMENT_LENGTH:
        raise InvalidInput(f"a comment of 1 to {MAX_COMMENT_LENGTH} characters is required")
    order = get_activation(session, user, order_id)
    session.execute(
        update(Order)
        .where(Order.id == order.id, Order.user_id == user.id)
        .values(comment=comment)
        .execution_options(synchronize_session=False)
    )
    session.refresh(order)
    return order


def search_activations(
    session: Session,
    user: User,
    *,
    email: str | None = None,
    service: Service | None = None,
    comment: str | None = None,
    limit: int = 100,
) -> list[Order]:
    """The user's activations, newest first, narrowed by address, service and exact comment."""
    query = select(Order).where(Order.user_id == user.id, Order.kind == ACTIVATION)
    if email:
        local, _, domain = email.strip().lower().rpartition("@")
        try:
            domain = normalize_domain(domain)
        except InvalidInput:
            return []
        query = (
            query.join(Address, Address.id == Order.address_id)
            .join(Domain, Domain.id == Address.domain_id)
            .where(Address.local_part == local, Domain.name == domain)
        )
    if service is not None:
        query = query.where(Order.service_id == service.id)
    if comment:
        query = query.where(Order.comment == comment.strip())
    limit = max(1, min(limit, MAX_SEARCH_RESULTS))
    return list(session.scalars(query.order_by(Order.id.desc()).limit(limit)))
