"""Keeping the gettext catalogs in step with the text of the pages (``scripts/translations``)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from api.web.i18n import LOCALES, TRANSLATIONS_DIR

#: the pages' text lives in api/web and in what they show of the API (flag names, details)
API_DIR = Path(__file__).parent.parent
SOURCE_LOCALE = "en"
_METHODS = [("**.py", "python"), ("web/templates/**.html", "jinja2")]
_OPTIONS = {"web/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
_KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    """Every translatable string of the pages, with where it is used."""
    template = Catalog(project="Bukti")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(API_DIR), _METHODS, options_map=_OPTIONS, keywords=_KEYWORDS
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def catalog_path(locale: str) -> Path:
    """Where the catalog of ``locale`` lives."""
    return TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"


def read_catalog(locale: str) -> Catalog:
    """The catalog of ``locale`` as it is on disk (empty if it has none yet)."""
    path = catalog_path(locale)
    if not path.exists():
        return Catalog(locale=locale, project="Bukti")
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def untranslated(catalog: Catalog) -> list[str]:
    """The source text of every message that has no translation yet."""
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def update_catalogs() -> dict[str, list[str]]:
    """Add new strings to (and drop unused ones from) every catalog; returns what is missing."""
    template = extract()
    report = {}
    for locale in LOCALES:
        if locale == SOURCE_LOCALE:
            continue
        catalog = read_catalog(locale)
        catalog.update(template, no_fuzzy_matching=True)
        path = catalog_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, ignore_obsolete=True)
        report[locale] = untranslated(catalog)
    return report
