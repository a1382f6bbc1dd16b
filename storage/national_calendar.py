"""Indonesia's national holidays and collective leave (cuti bersama), from ``holidays``.

The maintained ``holidays`` package keeps both for Indonesia: the "public" category holds the
holidays, the "government" category the cuti bersama days the government adds each year
(SKB 3 Menteri). They are read once per process and handed to the domain as plain values.
"""

from __future__ import annotations

from functools import lru_cache

from evidence.calendar import NationalDay

# K-Mob began in 2018; a few years ahead covers any month a teacher can still be looking at.
FIRST_YEAR = 2018
YEARS_AHEAD = 3


@lru_cache(maxsize=8)
def national_days(country: str, last_year: int) -> tuple[NationalDay, ...]:
    """Every national day off of ``country`` from 2018 through ``last_year``, names in Indonesian."""
    if not country:
        return ()
    import holidays

    years = range(FIRST_YEAR, last_year + 1)
    public = dict(holidays.country_holidays(country, years=years, language="id"))
    try:
        government = dict(
            holidays.country_holidays(
                country, years=years, categories=("government",), language="id"
            )
        )
    except (NotImplementedError, ValueError):  # a country without collective leave days
        government = {}
    days = [NationalDay(day, name) for day, name in public.items()]
    days += [
        NationalDay(day, name, collective_leave=True)
        for day, name in government.items()
        if day not in public
    ]
    return tuple(sorted(days, key=lambda d: d.date))
