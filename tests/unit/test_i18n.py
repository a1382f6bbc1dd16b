"""Languages, catalogs and formats of the pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from api.web.catalogs import SOURCE_LOCALE, extract, read_catalog, untranslated
from api.web.i18n import LOCALES, Translator, negotiate


@pytest.mark.parametrize(
    ("header", "chosen", "expected"),
    [
        (None, None, "id"),
        ("en-US,en;q=0.9", None, "en"),
        ("fr-FR,fr;q=0.9", None, "id"),
        ("fr,en;q=0.5,id;q=0.8", None, "id"),
        ("in-ID", None, "id"),
        ("en;q=0", None, "id"),
        ("en-US", "id", "id"),
        ("id", "xx", "id"),
    ],
)
def test_the_language_is_the_switch_then_the_browser_then_indonesian(
    header: str | None, chosen: str | None, expected: str
) -> None:
    assert negotiate(header, chosen) == expected


def test_moments_read_as_people_write_them_in_each_language() -> None:
    at = datetime(2026, 10, 13, 0, 35, tzinfo=UTC)

    assert Translator("id").moment(at, "Asia/Jakarta") == "13 Okt 2026, 07.35 WIB"
    assert Translator("en").moment(at, "Asia/Jakarta") == "13 Oct 2026, 07:35 WIB"
    assert Translator("id").moment(at, "Asia/Makassar") == "13 Okt 2026, 08.35 WITA"


def test_numbers_distances_and_sizes_use_the_locales_separators() -> None:
    indonesian, english = Translator("id"), Translator("en")

    assert indonesian.number(9000) == "9.000" and english.number(9000) == "9,000"
    assert indonesian.distance(1912) == "1,9 km" and indonesian.distance(87.4) == "87 m"
    assert indonesian.size(1_234_567) == "1,2 MB"
    assert indonesian.day(date(2026, 10, 13)) == "Sel, 13 Okt 2026"


def test_plurals_follow_the_language() -> None:
    assert Translator("en").ngettext("%(count)s item", "%(count)s items", 1) == "1 item"
    assert Translator("en").ngettext("%(count)s item", "%(count)s items", 1200) == "1,200 items"


def test_every_string_of_the_pages_is_translated() -> None:
    used = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    for locale in LOCALES:
        if locale == SOURCE_LOCALE:
            continue
        catalog = read_catalog(locale)
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        assert sorted(used - known) == [], f"run scripts/translations for {locale}"
        assert untranslated(catalog) == [], f"translate these in the {locale} catalog"
