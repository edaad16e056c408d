"""models.abuse: the waiting-orders cap and the cancel-ratio cooldown, as purchase applies them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import abuse, orders
from models.base import utcnow
from models.errors import CancelCooldown, TooManyWaitingOrders
from tests.factories import make_user

LIMITS = abuse.Limits(
    max_waiting_orders=3, cancel_ratio_limit=0.6, cancel_window_orders=5, cancel_cooldown_minutes=30
)


def test_the_cap_counts_only_live_waiting_orders(session, catalog):
    user = make_user(session, credit=10_000)
    bought = [orders.purchase(session, user, "any", limits=LIMITS) for _ in range(3)]
    with pytest.raises(TooManyWaitingOrders):
        orders.purchase(session, user, "any", limits=LIMITS)
    # A rental never waits; an expired activation no longer counts.
    orders.purchase(session, user, "discord", kind="rental", days=1, limits=abuse.Limits())
    later = bought[0].expires_at + timedelta(seconds=1)
    assert abuse.waiting_orders(session, user, later) == 0
    orders.cancel(session, user, bought[0].id)
    orders.purchase(session, user, "any", limits=LIMITS)


def test_without_limits_purchase_is_unrestricted(session, catalog):
    user = make_user(session, credit=10_000)
    for _ in range(5):
        orders.purchase(session, user, "any")


def test_the_cooldown_needs_a_full_sample_and_ends(session, catalog):
    user = make_user(session, credit=10_000)
    now = utcnow()
    for _ in range(4):
        order = orders.purchase(session, user, "any", limits=LIMITS, now=now)
        orders.cancel(session, user, order.id, now=now)
    assert abuse.cooldown_until(session, user, LIMITS, now) is None  # only 4 in the sample
    order = orders.purchase(session, user, "any", limits=LIMITS, now=now)
    orders.cancel(session, user, order.id, now=now)
    until = abuse.cooldown_until(session, user, LIMITS, now)
    assert until == now + timedelta(minutes=30)
    with pytest.raises(CancelCooldown) as refused:
        orders.purchase(session, user, "any", limits=LIMITS, now=now)
    assert refused.value.retry_after == 30 * 60 + 1
    orders.purchase(session, user, "any", limits=LIMITS, now=until + timedelta(seconds=1))


def test_completed_and_expired_orders_dilute_the_ratio(session, catalog):
    user = make_user(session, credit=10_000)
    now = utcnow()
    for i in range(5):
        order = orders.purchase(session, user, "any", limits=LIMITS, now=now)
        if i < 2:
            orders.cancel(session, user, order.id, now=now)
    orders.expire_due(session, now=now + timedelta(hours=1))  # three expired, two canceled
    assert abuse.cooldown_until(session, user, LIMITS, now + timedelta(hours=1)) is None
