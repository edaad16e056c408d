"""Versioned terms: publishing, the purchase gate, acceptances with time and IP."""

from __future__ import annotations

import pytest

from models import orders, resellers, terms
from models.audit import AuditEvent
from models.errors import Conflict, InvalidInput, TermsNotAccepted
from tests.factories import make_user


@pytest.fixture
def admin(session):  # type: ignore[no-untyped-def]
    return make_user(session, credit=0, is_admin=True)


def test_no_published_version_leaves_the_gate_open(session, catalog):
    user = make_user(session)
    assert terms.pending(session, user) == []
    orders.purchase(session, user, "any")


def test_a_new_version_blocks_purchases_until_accepted(session, catalog, admin):
    user = make_user(session)
    orders.purchase(session, user, "any")
    v1 = terms.publish(session, admin, terms.TERMS, "# Terms\n\n1. Be nice.")
    with pytest.raises(TermsNotAccepted):
        orders.purchase(session, user, "any")
    terms.accept(session, user, [v1.id], ip="198.51.100.7")
    orders.purchase(session, user, "any")
    ((acceptance, version),) = terms.acceptances(session, user)
    assert version.version == 1 and acceptance.ip == "198.51.100.7"
    assert acceptance.accepted_at is not None

    v2 = terms.publish(session, admin, terms.TERMS, "# Terms\n\n1. Be nice.\n2. Pay.", "adds 2")
    assert v2.version == 2
    with pytest.raises(TermsNotAccepted):
        orders.reorder(session, user, orders.list_orders(session, user)[0].id)
    assert terms.diff_lines(terms.last_accepted(session, user, terms.TERMS), v2)[-1] == "+2. Pay."


def test_privacy_policy_versions_gate_too(session, catalog, admin):
    user = make_user(session)
    t = terms.publish(session, admin, terms.TERMS, "terms")
    p = terms.publish(session, admin, terms.PRIVACY, "privacy")
    terms.accept(session, user, [t.id], ip="")
    with pytest.raises(TermsNotAccepted):
        orders.purchase(session, user, "any")
    terms.accept(session, user, [p.id], ip="")
    orders.purchase(session, user, "any")


def test_accepting_a_superseded_version_is_refused(session, catalog, admin):
    user = make_user(session)
    old = terms.publish(session, admin, terms.TERMS, "v1")
    terms.publish(session, admin, terms.TERMS, "v2")
    with pytest.raises(Conflict):
        terms.accept(session, user, [old.id])


def test_accepting_twice_records_once(session, catalog, admin):
    user = make_user(session)
    v = terms.publish(session, admin, terms.TERMS, "v1")
    assert len(terms.accept(session, user, [v.id], ip="1.2.3.4")) == 1
    assert terms.accept(session, user, [v.id], ip="1.2.3.4") == []
    assert len(terms.acceptances(session, user)) == 1


def test_publishing_is_audited_and_validated(session, admin):
    with pytest.raises(InvalidInput):
        terms.publish(session, admin, terms.TERMS, "   ")
    with pytest.raises(InvalidInput):
        terms.publish(session, admin, "cookies", "text")
    terms.publish(session, admin, terms.TERMS, "text")
    actions = [e.action for e in session.query(AuditEvent).filter_by(user_id=admin.id)]
    assert "admin.terms.publish" in actions


def test_a_resellers_acceptance_covers_its_sub_accounts(session, catalog, admin):
    reseller = make_user(session, credit=5000)
    resellers.set_reseller(session, admin, reseller.id, True)
    sub = resellers.create_sub_account(session, reseller, "cust@example.com")
    resellers.fund_sub_account(session, reseller, sub.id, 500)
    v = terms.publish(session, admin, terms.TERMS, "text")
    with pytest.raises(TermsNotAccepted):
        orders.purchase(session, sub, "any")
    terms.accept(session, reseller, [v.id], ip="10.0.0.1")
    orders.purchase(session, sub, "any")
