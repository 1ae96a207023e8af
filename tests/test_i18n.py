"""Every string in the templates and the code has a Japanese translation; dates in Tokyo."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app import i18n

pytestmark = pytest.mark.nodb  # touches no database: the SQLite pass alone runs it

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def _extracted() -> set[str]:
    found: set[str] = set()
    for sub, method in (("templates", "jinja2"), ("app", "python")):
        pattern = "**.html" if method == "jinja2" else "**.py"
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT / sub), method_map=[(pattern, method)], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_has_a_japanese_translation():
    with (ROOT / "app/locale/ja/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    # A plural entry's id and string are tuples: its singular counts, and every form must be set.
    translated = {
        m.id[0] if isinstance(m.id, tuple) else m.id
        for m in catalog
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    extracted = _extracted()
    assert len(extracted) > 40
    missing = sorted(extracted - translated)
    assert not missing, f"run scripts/i18n-update and translate: {missing}"


def test_translation_switches_with_the_locale():
    token = i18n.current_locale.set("ja")
    try:
        assert i18n.gettext("Log in") == "ログイン"
        i18n.current_locale.set("en")
        assert i18n.gettext("Log in") == "Log in"
    finally:
        i18n.current_locale.reset(token)


def test_dates_are_shown_in_tokyo_time():
    token = i18n.current_locale.set("ja")
    try:
        # 2025-03-31 15:30 UTC is already April 1st in Tokyo.
        shown = i18n.format_dt(datetime(2025, 3, 31, 15, 30, tzinfo=UTC), "short")
        assert shown.startswith("2025/04/01") and "0:30" in shown
    finally:
        i18n.current_locale.reset(token)


def test_negotiation_order():
    assert i18n.negotiate("en", "ja", "ja") == "en"
    assert i18n.negotiate(None, "en", "ja") == "en"
    assert i18n.negotiate(None, None, "fr, en;q=0.8") == "en"
    assert i18n.negotiate(None, None, "fr") == "ja"
    assert i18n.negotiate(None, None, None) == "ja"
    assert i18n.negotiate(None, None, "en;q=bad, ja;q=0.5") == "ja"
