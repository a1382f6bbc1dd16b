"""The words of the teacher's pages that the other pages do not need: monthly requirements,
attendance statuses, times of day with their zone (flags, statuses and decisions are told
as every page tells them: api.flag_views, api.web.words, api.web.items)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from babel.dates import format_time

from api.web.i18n import Translator
from evidence.timeresolve import zone_abbreviation

_CLOCK = {"id": "HH.mm", "en": "HH:mm"}


@dataclass(frozen=True)
class Words:
    """The sentences of the teacher's pages in one language; templates get it as ``words``."""

    t: Translator

    def requirement(self, requirement: str | None) -> str:
        """A monthly requirement's name."""
        if requirement == "learning":
            return self.t.gettext("Learning video")
        if requirement == "problem_solving":
            return self.t.gettext("Problem-solving video")
        return requirement or ""

    def attendance(self, status: str) -> str:
        """A K-Mob attendance status, said in words with its code."""
        names = {
            "WFO": self.t.gettext("At school (WFO)"),
            "WFH": self.t.gettext("At home (WFH)"),
            "DL": self.t.gettext("Official duty elsewhere (DL)"),
            "CUTI": self.t.gettext("On leave (CUTI)"),
            "SAKIT": self.t.gettext("Sick (SAKIT)"),
            "IZIN": self.t.gettext("Excused (IZIN)"),
        }
        return names.get(status, status)

    def clock(self, at: time, zone: str) -> str:
        """A time of day as the locale writes it, with the zone: ``07.35 WIB``."""
        return f"{format_time(at, _CLOCK.get(self.t.locale, 'HH:mm'), locale=self.t.locale)} {zone_abbreviation(zone)}"
