"""docs/configuration.md lists every setting that config.Settings reads."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from config import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_every_setting_is_documented():
    text = DOCS.read_text()
    names = [f.name for f in dataclasses.fields(Settings) if f.name != "extra"]
    missing = [n for n in names if f"`OTPINBOX_{n.upper()}`" not in text]
    assert missing == [], f"add these to docs/configuration.md: {missing}"
