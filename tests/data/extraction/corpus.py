"""The labelled extraction corpus: every case has an id, inputs and the exact expected output.

Keys: id, subject, text, html (inputs, None when absent), code, link (expected; None = none).
Loaded by tests/smtp/test_extract_corpus.py and bench/bench_extract.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# The sibling modules are plain data files, not a package: make them importable by name.
from extraction_languages import LANGUAGES
from extraction_links import LINKS
from extraction_negatives import NEGATIVES
from extraction_shell import shell
from extraction_tricky import TRICKY


def _case(**fields):
    return {"subject": None, "text": None, "html": None, "code": None, "link": None, **fields}


def _language_cases():
    for lang, subject, text, text_code, html_inner, html_code in LANGUAGES:
        yield _case(id=f"{lang}-text-only", subject=subject, text=text, code=text_code)
        yield _case(id=f"{lang}-html-only", subject=subject, html=shell(html_inner), code=html_code)


CASES = [
    *_language_cases(),
    *(_case(**case) for case in TRICKY),
    *(_case(**case) for case in LINKS),
    *(_case(**{**case, "id": f"negative-{case['id']}"}) for case in NEGATIVES),
]
