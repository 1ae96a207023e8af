"""Translations (Babel catalogs), the request's locale, and date formatting in Asia/Tokyo."""

from __future__ import annotations

import io
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale as BabelLocale
from babel.dates import format_date, parse_pattern
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from app import clock
from app.config import get_settings

LOCALES = ("ja", "en")
DEFAULT_LOCALE = "ja"
LOCALE_DIR = Path(__file__).parent / "locale"
LOCALE_NAMES = {"ja": "日本語", "en": "English"}

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> Translations:
    """Compile the .po catalog in memory, so that a stale .mo can never be served."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def gettext(message: str) -> str:
    return str(translations(current_locale.get()).ugettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    return str(translations(current_locale.get()).ungettext(singular, plural, n))


_ = gettext


def negotiate(user_locale: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The user's own setting first, then the language cookie, then the browser's wish."""
    for choice in (user_locale, cookie):
        if choice in LOCALES:
            return choice
    if accept_language:
        wanted = []
        for part in accept_language.split(","):
            tag, _sep, q = part.strip().partition(";q=")
            try:
                weight = float(q) if q else 1.0
            except ValueError:
                continue
            wanted.append((weight, tag.strip().replace("_", "-")))
        prefs = [t for _w, t in sorted(wanted, key=lambda x: -x[0])]
        found = BabelLocale.negotiate(prefs, list(LOCALES), sep="-")
        if found is not None:
            return str(found.language)
    return DEFAULT_LOCALE


@cache
def zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


_zone = zone


def local_datetime(value: datetime) -> datetime:
    return value.astimezone(_zone())


@cache
def _babel_locale(locale: str) -> BabelLocale:
    return BabelLocale.parse(locale)


@cache
def _datetime_pattern(locale: str, fmt: str) -> Any:
    """Babel's own pattern for the locale and width, parsed once (lists format 200 dates)."""
    loc = _babel_locale(locale)
    combined = str(loc.datetime_formats[fmt])
    date_part = str(loc.date_formats[fmt].pattern)
    time_part = str(loc.time_formats[fmt].pattern)
    return parse_pattern(combined.replace("{1}", date_part).replace("{0}", time_part))


def format_dt(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    locale = current_locale.get()
    return str(
        _datetime_pattern(locale, fmt).apply(value.astimezone(_zone()), _babel_locale(locale))
    )


def format_day(value: date | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return str(format_date(value, fmt, locale=current_locale.get()))


def format_month(key: str) -> str:
    """'2025-04' -> 4月 / Apr (the month's short name in the user's language)."""
    year, month = (int(part) for part in key.split("-"))
    return str(format_date(date(year, month, 1), "MMM", locale=current_locale.get()))


def today() -> date:
    return clock.now().astimezone(_zone()).date()


# Quotation marks a title may already wear: opening mark -> closing mark.
_QUOTES = {"「": "」", "『": "』", "“": "”", '"': '"'}


def quoted(title: str) -> str:
    """A title in the reader's quotation marks (「…」 / “…”), once: a title that is already
    wrapped whole in quotation marks (「ありがとう」) is not wrapped again (no 「「…」」)."""
    return gettext("“%(title)s”") % {"title": unquoted(title)}


def unquoted(title: str) -> str:
    """The title without one pair of quotation marks that wraps it whole: 「ありがとう」 →
    ありがとう, but 「早い」と「丁寧」 stays as it is (its first mark closes before the end)."""
    text = title.strip()
    close = _QUOTES.get(text[:1])
    if close is None or len(text) < 2 or text[-1] != close:
        return title
    depth = 0
    for i, ch in enumerate(text):
        if ch == text[0] and (close != ch or i == 0):
            depth += 1
        elif ch == close:
            depth -= 1
            if depth == 0:
                return text[1:-1] if i == len(text) - 1 else title
    return title
