"""Indonesian first, English second: which language a request gets, its catalog and formats.

Text is written in English in the code and templates (``_("Sign in")``) and translated in
gettext catalogs: ``api/web/translations/<locale>/LC_MESSAGES/messages.po``, compiled in
memory when the app starts (no ``.mo`` files to keep in step). ``scripts/translations``
extracts new strings into the catalogs; a unit test fails while any is untranslated.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from gettext import NullTranslations
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from evidence.timeresolve import in_zone, zone_abbreviation

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
LOCALES = ("id", "en")
DEFAULT_LOCALE = "id"
LANGUAGE_COOKIE = "bukti_lang"
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


def N_(message: str) -> str:  # gettext's conventional name for "translate later"
    """Mark ``message`` for the catalogs (in a table, say); it is translated where shown."""
    return message


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The locale of a request: the one chosen with the switch, else the browser's first
    supported language (``Accept-Language``), else Indonesian."""
    if chosen in LOCALES:
        assert chosen is not None
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.strip().lower().split("-")[0]
        # "in" is Java's (and old Android's) code for Indonesian
        language = "id" if language == "in" else language
        if language in LOCALES and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LOCALE


@cache
def catalog(locale: str) -> NullTranslations:
    """The compiled catalog of ``locale``; English is the source text itself."""
    po_path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as po:
        messages = read_po(po, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return Translations(compiled)


_TIME_PATTERN = {"id": "HH.mm", "en": "HH:mm"}


@dataclass(frozen=True)
class Translator:
    """Text, dates and numbers in one locale; templates get it as ``t`` and ``_``."""

    locale: str

    def gettext(self, message: str, **values: Any) -> str:
        """``message`` translated, with ``%(name)s`` placeholders filled from ``values``."""
        text = catalog(self.locale).gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: Any) -> str:
        """The singular or plural form for ``count`` (available as ``%(count)s``)."""
        text = catalog(self.locale).ngettext(singular, plural, count)
        return text % {"count": self.number(count), **values}

    def moment(self, at: datetime | None, zone: str = "Asia/Jakarta") -> str:
        """An instant in a zone: ``13 Okt 2026, 07.35 WIB`` (``13 Oct 2026, 07:35 WIB``)."""
        if at is None:
            return "\N{EM DASH}"
        local = in_zone(at, zone)
        day = format_date(local, "d MMM y", locale=self.locale)
        clock = format_time(local, _TIME_PATTERN[self.locale], locale=self.locale)
        return f"{day}, {clock} {zone_abbreviation(zone, local.replace(tzinfo=None))}"

    def wall_clock(self, value: datetime) -> str:
        """A time as a camera wrote it (no zone): ``13 Okt 2026, 07.20.00``."""
        pattern = _TIME_PATTERN[self.locale] + ("." if self.locale == "id" else ":") + "ss"
        day = format_date(value, "d MMM y", locale=self.locale)
        return f"{day}, {format_time(value, pattern, locale=self.locale)}"

    def time_of_day(self, value: time) -> str:
        """A time of day: ``07.05`` (``07:05``), with seconds only when it has them."""
        pattern = _TIME_PATTERN[self.locale]
        if value.second:
            pattern += ("." if self.locale == "id" else ":") + "ss"
        return format_time(value, pattern, locale=self.locale)

    def duration(self, seconds: float) -> str:
        """A span as ``2 jam 17 menit`` (``2 h 17 min``): its two largest units, sign ignored."""
        rest = int(abs(seconds))
        days, rest = divmod(rest, 86_400)
        hours, rest = divmod(rest, 3_600)
        minutes, rest = divmod(rest, 60)
        units = [
            (days, N_("%(n)s d")),
            (hours, N_("%(n)s h")),
            (minutes, N_("%(n)s min")),
            (rest, N_("%(n)s s")),
        ]
        first = next((i for i, (amount, _) in enumerate(units) if amount), len(units) - 1)
        shown = [(amount, unit) for amount, unit in units[first : first + 2] if amount]
        return " ".join(self.gettext(unit, n=self.number(amount)) for amount, unit in shown) or (
            self.gettext(N_("%(n)s s"), n=0)
        )

    def day(self, value: date | None, pattern: str = "EEE, d MMM y") -> str:
        """A date: ``Sel, 13 Okt 2026``; ``pattern`` is a CLDR date pattern."""
        if value is None:
            return "\N{EM DASH}"
        return format_date(value, pattern, locale=self.locale)

    def short_day(self, value: date | datetime, zone: str | None = None) -> str:
        """A date without its year: ``13 Okt``."""
        if isinstance(value, datetime) and zone is not None:
            value = in_zone(value, zone)
        return format_date(value, "d MMM", locale=self.locale)

    def number(self, value: float, digits: int = 0) -> str:
        """A number with the locale's separators: ``1.234,5`` in Indonesian."""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, pattern, locale=self.locale)

    def distance(self, metres: float) -> str:
        """``87 m``, ``1,9 km``."""
        if metres < 999.5:
            return f"{self.number(metres)} m"
        return f"{self.number(metres / 1000, 1)} km"

    def size(self, size_bytes: int | None) -> str:
        """``734 KB``, ``1,2 MB`` (powers of 1000, as phones show them)."""
        if size_bytes is None:
            return "\N{EM DASH}"
        for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
            if size_bytes >= scale:
                return f"{self.number(size_bytes / scale, 1)} {unit}"
        return f"{self.number(size_bytes)} B"

    @property
    def language_name(self) -> str:
        """The locale's own name for its language."""
        return Locale.parse(self.locale).get_display_name(self.locale) or self.locale
