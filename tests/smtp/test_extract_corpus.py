"""The labelled corpus under tests/data/extraction/: exact code and link for every case."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from smtp.extract import Extraction, extract

CORPUS = Path(__file__).parent.parent / "data" / "extraction" / "corpus.py"
CASES: list[dict] = runpy.run_path(str(CORPUS))["CASES"]
LANGUAGES = {
    "en", "es", "pt", "fr", "de", "it", "nl", "pl", "tr", "ru", "uk", "ar", "fa", "he", "hi",
    "bn", "id", "vi", "th", "zh-hans", "zh-hant", "ja", "ko", "sv", "fi", "el", "cs", "ro", "hu",
}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_corpus_case(case: dict) -> None:
    result = extract(case["subject"], case["text"], case["html"])
    assert isinstance(result, Extraction)
    assert (result.code, result.link) == (case["code"], case["link"]), result.reason
    assert 0.0 <= result.confidence <= 1.0
    if result.code is None and result.link is None:
        assert result.confidence == 0.0


def test_corpus_shape() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 150
    assert sum(case["code"] is None for case in CASES) >= 40
    covered = {case["id"].rsplit("-", 2)[0] for case in CASES if case["id"].endswith("-only")}
    assert covered >= LANGUAGES
