"""Reviewers' decisions: what they may decide, the short list of reasons, and which items
come first in their queue."""

from __future__ import annotations

from enum import StrEnum

from evidence.flags import Code, Severity


class Decision(StrEnum):
    """A reviewer's decision on an item; a later decision stands beside an earlier one."""

    APPROVED = "approved"
    REJECTED = "rejected"
    ASK_AGAIN = "ask_again"  # the teacher is asked for another proof

    @property
    def needs_reason(self) -> bool:
        """True when the teacher must be told why (a rejection, a request for another proof)."""
        return self is not Decision.APPROVED


class ReasonCode(StrEnum):
    """Why an item was rejected or another proof asked for (free text may add to it)."""

    WRONG_TIME = "wrong_time"
    WRONG_PLACE = "wrong_place"
    REUSED = "reused"
    EDITED = "edited"
    NOT_THE_ACTIVITY = "not_the_activity"
    UNREADABLE = "unreadable"
    OTHER = "other"


#: the flags whose related item belongs to someone else and must be shown per reader
DUPLICATE_CODES = frozenset({Code.EXACT_DUPLICATE, Code.NEAR_DUPLICATE})

#: queue order: the worst flag first
SEVERITY_RANK = {Severity.HIGH: 4, Severity.MEDIUM: 3, Severity.LOW: 2, Severity.INFO: 1}


def reason_problem(decision: Decision, reason_code: str | None, reason: str | None) -> str | None:
    """Why a decision cannot be recorded as given, or None when it can."""
    text = (reason or "").strip()
    if reason_code is not None and reason_code not in ReasonCode.__members__.values():
        return f"unknown reason {reason_code!r}"
    if decision.needs_reason and reason_code is None and not text:
        return "a rejection or a request for another proof needs a reason the teacher can act on"
    if reason_code == ReasonCode.OTHER and not text:
        return "say what the other reason is"
    return None
