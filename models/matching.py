"""Does an incoming message answer an order? Sender/subject filters and customer regexes.

Customer regexes run on the SMTP daemon's hot path, so they run under the ``regex``
module's timeout: a catastrophic pattern costs its owner a miss, not us an outage.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from .catalog import ANY_SERVICE, pattern_matches
from .errors import InvalidInput

MAX_REGEX_LENGTH = 500
REGEX_TIMEOUT_SECONDS = 0.2


def validate_regex(pattern: str) -> None:
    if len(pattern) > MAX_REGEX_LENGTH:
        raise InvalidInput(f"the regex is longer than {MAX_REGEX_LENGTH} characters")
    try:
        regex.compile(pattern)
    except (regex.error, TypeError, ValueError) as exc:
        raise InvalidInput(f"invalid regex: {exc}") from None


def first_match(pattern: str, text: str) -> str | None:
    """The first match of ``pattern`` (its first group if it has one), or None."""
    try:
        compiled = regex.compile(pattern)
        found = compiled.search(text, timeout=REGEX_TIMEOUT_SECONDS)
    except (regex.error, TimeoutError, ValueError):
        return None
    if found is None:
        return None
    value = found.group(1) if compiled.groups and found.group(1) is not None else found.group(0)
    return value.strip() or None


@dataclass(frozen=True)
class Filters:
    service_name: str
    sender: str | None  # the service's sender pattern, or the order's override
    subject: str | None
    regex: str | None


def sender_matches(filters: Filters, envelope_from: str, header_from: str) -> bool:
    if filters.sender:
        return pattern_matches(filters.sender, envelope_from, header_from)
    if filters.service_name == ANY_SERVICE:
        return True
    # No pattern: the service's name must appear in the sender, as kopeechka matches sites.
    return pattern_matches(filters.service_name, envelope_from, header_from)


def subject_matches(filters: Filters, subject: str) -> bool:
    return not filters.subject or pattern_matches(filters.subject, subject)


def answer_value(
    filters: Filters, *, code: str | None, link: str | None, searchable_text: str
) -> str | None:
    """What the customer gets: the regex match when a regex is set, else the code, else the link."""
    if filters.regex:
        return first_match(filters.regex, searchable_text)
    return code or link
