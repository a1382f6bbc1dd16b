"""Evidence statuses and the kinds of evidence, as SPEC.md names them."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where an item is on its way: received -> processing -> one of the terminal four."""

    RECEIVED = "received"
    PROCESSING = "processing"
    ACCEPTED = "accepted"
    FLAGGED = "flagged"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """True once processing has ended, for better or worse."""
        return self in (Status.ACCEPTED, Status.FLAGGED, Status.REJECTED, Status.FAILED)


class Kind(StrEnum):
    """What an item is, as sniffed from its bytes."""

    PHOTO = "photo"
    VIDEO = "video"
    DOCUMENT = "document"
    YOUTUBE = "youtube"


class Role(StrEnum):
    """Who a user is: a teacher sees their own records, a reviewer their school's, an admin all."""

    TEACHER = "teacher"
    REVIEWER = "reviewer"
    ADMIN = "admin"
