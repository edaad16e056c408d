"""Unit tests of the extraction building blocks and the customer-regex helpers."""

from __future__ import annotations

import time

import pytest

from smtp.extract import apply_regex, extract, validate_regex, visible_text
from smtp.extract.candidates import Shape, find_candidates
from smtp.extract.mask import cut_footer, mask
from smtp.extract.normalize import normalize_text, render_html

# --- normalisation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),  # Arabic-Indic
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),  # Persian
        ("０１２３４５", "012345"),  # full-width (NFKC)
        ("०१२३ ০১২৩ ๐๑๒๓", "0123 0123 0123"),  # Devanagari, Bengali, Thai
        ("12\u200b34\u200c56\ufeff", "123456"),  # zero-width characters
        ("a\u00a0\u00a0b\t c", "a b c"),  # NBSP and tabs collapse
        ("a\r\n\r\n\r\n\r\nb", "a\n\nb"),  # at most one blank line
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_render_html_drops_invisible_parts_and_keeps_signals() -> None:
    doc = render_html(
        "<html><head><title>T 1234</title><style>p{color:#123456}</style></head><body>"
        "<div style='display:none'>pre 9999</div><script>var x = 5555;</script>"
        "<p>Hi &amp; welcome</p><b>482910</b><!-- 7777 -->"
        "<a href='https://x.example/verify?a=1&amp;b=2' style='background:#000'>Go</a></body>"
        "</html>"
    )
    assert "1234" not in doc.text and "5555" not in doc.text and "7777" not in doc.text
    assert "#123456" not in doc.text and "9999" not in doc.text
    assert "Hi & welcome" in doc.text
    assert doc.preheader == "pre 9999"
    assert "482910" in doc.emphasized
    assert doc.anchors[0].href == "https://x.example/verify?a=1&b=2"
    assert doc.anchors[0].button_like and doc.anchors[0].text == "Go"


def test_render_html_survives_broken_markup() -> None:
    doc = render_html("<p>Code <b>123456<p>unclosed <div><td>x</table></span>")
    assert "123456" in doc.text


def test_visible_text_prefers_text_part_then_html() -> None:
    assert visible_text("Subj", "body ٤٢", "<p>html</p>") == "Subj\nbody 42"
    assert visible_text("Subj", None, "<style>x</style><p>html</p>") == "Subj\nhtml"
    assert visible_text(None, "   ", None) == "\n"


# --- masking and candidates -----------------------------------------------------------------


@pytest.mark.parametrize(
    "distractor",
    [
        "https://example.com/a/123456",
        "john.123456@example.com",
        "+1 (415) 555-0142",
        "800-555-0199",
        "06 12 34 56 78",
        "10.0.0.1",
        "2024-11-22",
        "22.11.2024",
        "12 March 2024",
        "10:45",
        "$1,249.00",
        "1.299,00 €",
        "25%",
        "color: #333333",
        "123456******6789",
        "XX1245",
        "Order #R123456789",
        "HRB 123456",
        "ИНН 7701234567",
        "Invoice 2024001",
    ],
)
def test_mask_blanks_non_codes(distractor: str) -> None:
    masked = mask(f"see {distractor} end")
    assert len(masked) == len(distractor) + 8
    assert find_candidates(masked) == []


def test_mask_keeps_codes() -> None:
    for text in ("code 482910", "code 123 456 789", "code G-123456", "code 1234-5678"):
        assert find_candidates(mask(text)), text


def test_cut_footer_only_in_lower_part() -> None:
    text = "Unsubscribe | view online\n" + "Your code 482910\n" * 3 + "© 2024 Acme 94103"
    cut = cut_footer(text)
    assert "482910" in cut and "94103" not in cut and "Unsubscribe" in cut


@pytest.mark.parametrize(
    ("text", "value", "shape"),
    [
        ("인증번호27961116를", "27961116", Shape.DIGITS),
        ("（コード K7Q2XN）", "K7Q2XN", Shape.ALNUM),
        ("码482910，", "482910", Shape.DIGITS),
        ("123 456 789", "123456789", Shape.GROUPED),
        ("1 2 3 4 5 6", "123456", Shape.GROUPED),
        ("G-123456", "123456", Shape.PREFIXED),
        ("BCDF-GHJK", "BCDF-GHJK", Shape.LETTERS),
    ],
)
def test_candidate_shapes(text: str, value: str, shape: Shape) -> None:
    found = find_candidates(text)
    assert [(c.value, c.shape) for c in found] == [(value, shape)]


def test_long_numbers_and_glued_tokens_are_not_candidates() -> None:
    assert find_candidates("12345678901 abc-123456 v1.234567 x-123456 a_123456") == []


# --- extract() edge cases ---------------------------------------------------------------------


def test_extract_handles_empty_input() -> None:
    result = extract(None, None, None)
    assert result.code is None and result.link is None and result.confidence == 0.0


def test_extract_explains_itself() -> None:
    result = extract("Your code", "Your verification code is 482910.", None)
    assert result.code == "482910"
    assert "keyword" in result.reason and result.confidence > 0.6


def test_extract_is_bounded_on_hostile_input() -> None:
    hostile = ("<div>" * 20_000) + ("1 " * 200_000) + ("<b>code" * 20_000)
    started = time.perf_counter()
    extract("code", "code " + "9" * 500_000, hostile)
    # Generous bound: only catches runaway (quadratic/backtracking) behaviour.
    assert time.perf_counter() - started < 3.0


# --- customer regex helpers ---------------------------------------------------------------------


def test_apply_regex_group_one_or_whole_match() -> None:
    text = "Your Netflix code: 7720. Ref 1234"
    assert apply_regex(r"code: (\d{4})", "S", text, None) == "7720"
    assert apply_regex(r"\d{4}", "S", text, None) == "7720"
    assert apply_regex(r"nope(\d+)", "S", text, None) is None


def test_apply_regex_sees_subject_and_html_visible_text_only() -> None:
    html = "<style>.a{x:1111}</style><p>PIN <b>8821</b></p>"
    assert apply_regex(r"PIN (\d+)", None, None, html) == "8821"
    assert apply_regex(r"x:(\d+)", None, None, html) is None
    assert apply_regex(r"^(\d{6}) is", "482910 is your code", "body", None) == "482910"


def test_apply_regex_times_out_on_catastrophic_pattern() -> None:
    text = "a" * 40 + "!"
    started = time.perf_counter()
    assert apply_regex(r"^(a+)+$", None, text, None) is None
    assert time.perf_counter() - started < 1.5


def test_apply_regex_invalid_pattern_gives_none() -> None:
    assert apply_regex("(", None, "x", None) is None


@pytest.mark.parametrize("pattern", ["(", "a{2,1}", "x" * 501, "", "[z-a]"])
def test_validate_regex_rejects(pattern: str) -> None:
    with pytest.raises(ValueError):
        validate_regex(pattern)


def test_validate_regex_accepts_reasonable_patterns() -> None:
    validate_regex(r"(?i)code[:\s]+(\d{4,8})")
    validate_regex("x" * 500)
