"""How flag details word times, durations and distances, so a reviewer reads them at a glance."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from evidence.timeresolve import in_zone, zone_abbreviation


def clock_text(moment: datetime, zone: str, *, day: date | None = None) -> str:
    """An instant as "10:47 WIB" in the zone; with its date when that differs from ``day``."""
    local = in_zone(moment, zone)
    text = f"{local:%H:%M} {zone_abbreviation(zone, local.replace(tzinfo=None))}"
    if day is not None and local.date() != day:
        return f"{local:%Y-%m-%d} {text}"
    return text


def time_text(moment: time) -> str:
    """A time of day as "07:00", with seconds only when it has them."""
    return f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"


def window_text(start: time, end: time) -> str:
    """A window of the day as "07:00-08:30", with an en dash."""
    return f"{time_text(start)}\N{EN DASH}{time_text(end)}"


def duration_text(span: timedelta) -> str:
    """A duration as "2 h 17 min", "30 min 10 s", "45 s" or "3 d 4 h" (sign ignored)."""
    seconds = int(abs(span.total_seconds()))
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        # Seconds matter only near a threshold stated in minutes: "30 min 10 s" is over 30.
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"


def distance_text(metres: float) -> str:
    """A distance as "87 m", "1.9 km" or "1,523 km"."""
    if metres < 999.5:
        return f"{metres:.0f} m"
    km = metres / 1000
    return f"{km:.1f} km" if km < 99.95 else f"{km:,.0f} km"
