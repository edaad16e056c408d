"""Domains, services and address generation."""

from __future__ import annotations

import math

import pytest

from models import catalog as catalog_module
from models.errors import InvalidInput, UnknownDomain, UnknownService
from tests.factories import make_user


def test_addresses_have_at_least_40_bits_of_entropy():
    alphabet = set(catalog_module.LOCAL_PART_ALPHABET)
    assert catalog_module.LOCAL_PART_LENGTH * math.log2(len(alphabet)) >= 40


def test_addresses_are_unique_and_spread_over_active_domains(session, catalog):
    second = catalog_module.add_domain(session, "mail2.test")
    catalog_module.add_domain(session, "off.test").active = False
    user = make_user(session)
    made = [catalog_module.new_address(session, user.id) for _ in range(200)]
    emails = [a.email for a in made]
    assert len(set(emails)) == len(emails)
    assert {a.domain.name for a in made} == {"otpinbox.test", second.name}
    assert all(len(a.local_part) == catalog_module.LOCAL_PART_LENGTH for a in made)


@pytest.mark.parametrize("name", ["", "no_dots", "-bad.test", "a" * 300 + ".test", "sp ace.test"])
def test_invalid_domains_are_refused(session, name):
    with pytest.raises(InvalidInput):
        catalog_module.add_domain(session, name)


def test_domain_add_is_idempotent_and_case_insensitive(session):
    first = catalog_module.add_domain(session, "Example.TEST.")
    again = catalog_module.add_domain(session, "example.test")
    assert first.id == again.id and first.name == "example.test"


def test_service_add_updates_in_place(session):
    catalog_module.add_service(session, "Steam", price=10)
    updated = catalog_module.add_service(session, "steam", price=12, window_minutes=5)
    assert catalog_module.get_service(session, "STEAM").price == 12
    assert updated.window_minutes == 5


def test_unknown_service_and_domain(session, catalog):
    with pytest.raises(UnknownService):
        catalog_module.get_service(session, "nope")
    with pytest.raises(UnknownDomain):
        catalog_module.get_domain(session, "nope.test")


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("discord", "noreply@discord.com", True),
        ("DISCORD", "noreply@discord.com", True),
        ("*@github.com", "noreply@github.com", True),
        ("*@github.com", "noreply@github.com.evil.test", False),
        ("steam", "noreply@valve.com", False),
    ],
)
def test_pattern_matching(pattern, value, expected):
    assert catalog_module.pattern_matches(pattern, value) is expected
