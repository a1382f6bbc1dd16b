"""Retention rules at their boundaries: when the clock starts, which copies go, what holds."""

from __future__ import annotations

from datetime import date

import pytest

from evidence.retention import (
    HeldCopy,
    Hold,
    HoldScope,
    Outcome,
    RetainedItem,
    Rule,
    add_years,
    clock_start,
    expired_copies,
    holds_covering,
    month_closed_on,
    outcome_of,
)

RULES = {
    ("photo", Outcome.ACCEPTED): Rule("photo", Outcome.ACCEPTED, 90, 5),
    ("document", Outcome.ACCEPTED): Rule("document", Outcome.ACCEPTED, None, 5),
}
ORIGINAL = HeldCopy(1, "original", 3_000_000)
RENDITION = HeldCopy(2, "rendition", 400_000)


def item(
    *,
    kind: str = "photo",
    outcome: Outcome | None = Outcome.ACCEPTED,
    day: date = date(2026, 10, 13),
    reviewed_on: date | None = None,
    copies: tuple[HeldCopy, ...] = (ORIGINAL, RENDITION),
) -> RetainedItem:
    return RetainedItem(7, 3, 1, kind, outcome, day, reviewed_on, copies)


def test_the_clock_starts_when_the_month_closes() -> None:
    assert month_closed_on(date(2026, 10, 13)) == date(2026, 11, 1)
    assert month_closed_on(date(2026, 12, 31)) == date(2027, 1, 1)
    assert clock_start(item()) == date(2026, 11, 1)


def test_a_review_after_the_month_closed_starts_the_clock_later() -> None:
    assert clock_start(item(reviewed_on=date(2026, 11, 20))) == date(2026, 11, 20)
    assert clock_start(item(reviewed_on=date(2026, 10, 20))) == date(2026, 11, 1)


def test_an_accepted_photos_original_goes_on_its_ninetieth_day_not_before() -> None:
    due = date(2026, 11, 1).toordinal() + 90
    assert expired_copies(item(), RULES, date.fromordinal(due - 1), 1) == []
    [expiry] = expired_copies(item(), RULES, date.fromordinal(due), 1)
    assert expiry.copy == ORIGINAL
    assert expiry.due == date(2027, 1, 30)
    assert "original kept 90 day(s)" in expiry.reason and "policy v1" in expiry.reason


def test_every_copy_goes_when_the_copies_years_are_up() -> None:
    assert {e.copy for e in expired_copies(item(), RULES, date(2031, 11, 1), 1)} == {
        ORIGINAL,
        RENDITION,
    }
    assert [e.copy for e in expired_copies(item(), RULES, date(2031, 10, 31), 1)] == [ORIGINAL]


@pytest.mark.parametrize("outcome", [None, Outcome.REJECTED])
def test_flagged_rejected_or_undecided_items_keep_everything(outcome: Outcome | None) -> None:
    assert expired_copies(item(outcome=outcome), RULES, date(2040, 1, 1), 1) == []


def test_a_document_keeps_its_original_as_long_as_its_sanitised_copy() -> None:
    document = item(kind="document", copies=(ORIGINAL, HeldCopy(2, "sanitised", 90_000)))
    assert expired_copies(document, RULES, date(2031, 10, 31), 1) == []
    assert len(expired_copies(document, RULES, date(2031, 11, 1), 1)) == 2


def test_an_original_that_is_the_only_copy_is_kept() -> None:
    assert expired_copies(item(copies=(ORIGINAL,)), RULES, date(2027, 6, 1), 1) == []


def test_years_on_a_leap_day_land_on_the_28th() -> None:
    assert add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert add_years(date(2028, 2, 29), 4) == date(2032, 2, 29)


def test_negative_keeps_are_refused() -> None:
    with pytest.raises(ValueError):
        Rule("photo", Outcome.ACCEPTED, -1, 5)


def test_outcome_follows_the_reviewers_last_word() -> None:
    assert outcome_of("flagged", None) is None
    assert outcome_of("flagged", "approved") is Outcome.ACCEPTED
    assert outcome_of("accepted", "rejected") is Outcome.REJECTED
    assert outcome_of("flagged", "ask_again") is Outcome.REJECTED
    assert outcome_of("accepted", None) is Outcome.ACCEPTED
    assert outcome_of("failed", None) is None


def test_holds_cover_an_item_a_teacher_a_school_or_a_date_range() -> None:
    subject = item()
    covering = [
        Hold(1, HoldScope.EVIDENCE, evidence_id=7),
        Hold(2, HoldScope.TEACHER, teacher_id=3),
        Hold(3, HoldScope.SCHOOL, school_id=1),
        Hold(4, HoldScope.DATES, date_from=date(2026, 10, 13), date_to=date(2026, 10, 13)),
        Hold(5, HoldScope.DATES, date_from=date(2026, 10, 1)),
        Hold(6, HoldScope.DATES, date_to=date(2026, 10, 31), school_id=1),
    ]
    missing = [
        Hold(11, HoldScope.EVIDENCE, evidence_id=8),
        Hold(12, HoldScope.TEACHER, teacher_id=4),
        Hold(13, HoldScope.SCHOOL, school_id=2),
        Hold(14, HoldScope.DATES, date_from=date(2026, 10, 14)),
        Hold(15, HoldScope.DATES, date_to=date(2026, 10, 12)),
        Hold(16, HoldScope.DATES, date_from=date(2026, 10, 1), school_id=2),
    ]
    assert holds_covering(subject, covering + missing) == covering
