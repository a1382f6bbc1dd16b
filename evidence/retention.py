"""Retention, as pure rules: which of an item's archived copies a policy lets go, and when.

A policy is a set of :class:`Rule` per kind and outcome. The clock of an item starts when
its month is closed and, if a reviewer decided on it, on the day of the decision, whichever
is later. From then its original is kept ``keep_original_days`` (None: as long as the
copies), and every copy, the original included, ``keep_copies_years`` (None: for ever).
An item with no rule for its outcome keeps everything: by default flagged, rejected and
unfinished items, and anything a reviewer has not decided on.

A :class:`Hold` covering the item suspends every removal (see :func:`holds_covering`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

ORIGINAL = "original"


class Outcome(StrEnum):
    """What became of an item, as far as retention cares."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class HoldScope(StrEnum):
    """What a legal hold covers."""

    EVIDENCE = "evidence"
    TEACHER = "teacher"
    SCHOOL = "school"
    DATES = "dates"


@dataclass(frozen=True)
class Rule:
    """How long one kind's items of one outcome keep their copies."""

    kind: str
    outcome: Outcome
    keep_original_days: int | None
    keep_copies_years: int | None

    def __post_init__(self) -> None:
        if self.keep_original_days is not None and self.keep_original_days < 0:
            raise ValueError("keep_original_days cannot be negative")
        if self.keep_copies_years is not None and self.keep_copies_years < 0:
            raise ValueError("keep_copies_years cannot be negative")


@dataclass(frozen=True)
class HeldCopy:
    """A copy the archive holds for an item: the object, its class and size."""

    object_id: int
    klass: str
    size_bytes: int


@dataclass(frozen=True)
class RetainedItem:
    """What retention needs to know of one item."""

    evidence_id: int
    teacher_id: int
    school_id: int
    kind: str
    outcome: Outcome | None
    day: date
    reviewed_on: date | None
    copies: tuple[HeldCopy, ...]


@dataclass(frozen=True)
class Hold:
    """A legal hold in force."""

    id: int
    scope: HoldScope
    evidence_id: int | None = None
    teacher_id: int | None = None
    school_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class Expiry:
    """A copy whose time is up, and why."""

    copy: HeldCopy
    due: date
    reason: str


#: the policy until an admin sets one (version 0): accepted photos and videos keep their
#: original 90 days, then their rendition and poster; every copy of an accepted item is kept
#: 5 years (the TRK record's retention); documents keep their original beside the sanitised
#: copy; flagged, rejected and undecided items keep everything
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("photo", Outcome.ACCEPTED, 90, 5),
    Rule("video", Outcome.ACCEPTED, 90, 5),
    Rule("youtube", Outcome.ACCEPTED, 90, 5),
    Rule("document", Outcome.ACCEPTED, None, 5),
)


def outcome_of(status: str, last_decision: str | None) -> Outcome | None:
    """The outcome retention reads from an item's status and its reviewer's last decision:
    a reviewer's word wins; a flagged item nobody decided on is still under review."""
    if last_decision == "approved":
        return Outcome.ACCEPTED
    if last_decision in ("rejected", "ask_again"):
        return Outcome.REJECTED
    if status == "accepted":
        return Outcome.ACCEPTED
    if status == "rejected":
        return Outcome.REJECTED
    return None


def month_closed_on(day: date) -> date:
    """The first day after the month of ``day``: when its month is closed."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def add_years(start: date, years: int) -> date:
    """``start`` moved ``years`` on; 29 February becomes 28 February in a common year."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def clock_start(item: RetainedItem) -> date:
    """When an item's retention starts: its month closed and, if decided, its review done."""
    closed = month_closed_on(item.day)
    return max(closed, item.reviewed_on) if item.reviewed_on else closed


def is_covered(item: RetainedItem, hold: Hold) -> bool:
    """True when ``hold`` covers ``item``."""
    if hold.scope is HoldScope.EVIDENCE:
        return hold.evidence_id == item.evidence_id
    if hold.scope is HoldScope.TEACHER:
        return hold.teacher_id == item.teacher_id
    if hold.scope is HoldScope.SCHOOL:
        return hold.school_id == item.school_id
    if hold.school_id is not None and hold.school_id != item.school_id:
        return False
    after_start = hold.date_from is None or item.day >= hold.date_from
    before_end = hold.date_to is None or item.day <= hold.date_to
    return after_start and before_end


def holds_covering(item: RetainedItem, holds: Iterable[Hold]) -> list[Hold]:
    """The holds in force that cover ``item``: any one suspends its removals."""
    return [hold for hold in holds if is_covered(item, hold)]


def expired_copies(
    item: RetainedItem, rules: Mapping[tuple[str, Outcome], Rule], today: date, version: int
) -> list[Expiry]:
    """The copies of ``item`` that the policy (``rules``, of ``version``) lets go on
    ``today``. Holds are not looked at here: see :func:`holds_covering`."""
    if item.outcome is None:
        return []
    rule = rules.get((item.kind, item.outcome))
    if rule is None:
        return []
    start = clock_start(item)
    what = f"{item.outcome.value} {item.kind}, clock from {start.isoformat()}, policy v{version}"
    expired: list[Expiry] = []
    copies_due = None
    if rule.keep_copies_years is not None:
        copies_due = add_years(start, rule.keep_copies_years)
    if copies_due is not None and today >= copies_due:
        reason = f"{what}: every copy kept {rule.keep_copies_years} year(s), due {copies_due}"
        return [Expiry(copy, copies_due, reason) for copy in item.copies]
    if rule.keep_original_days is not None:
        original_due = start + timedelta(days=rule.keep_original_days)
        has_other_copy = any(copy.klass != ORIGINAL for copy in item.copies)
        # an item whose original is its only copy keeps it: there would be nothing left
        if today >= original_due and has_other_copy:
            reason = f"{what}: original kept {rule.keep_original_days} day(s), due {original_due}"
            expired.extend(
                Expiry(copy, original_due, reason) for copy in item.copies if copy.klass == ORIGINAL
            )
    return expired
