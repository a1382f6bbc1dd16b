"""Why an item failed: the class of its failure, and what a teacher reads about it.

The workers class each failure; the API filters failed items by class and the sweep retries
those an outage caused once their dependency answers again.
"""

from __future__ import annotations

from enum import StrEnum


class FailureReason(StrEnum):
    """The class of a failure: what was down or wrong."""

    STORAGE = "storage"
    DATABASE = "database"
    NETWORK = "network"
    MEDIA = "media"
    INTERNAL = "internal"


#: failures an outage causes: the sweep retries them once the dependency answers again
DEPENDENCY_REASONS = frozenset(
    {FailureReason.STORAGE, FailureReason.DATABASE, FailureReason.NETWORK}
)

_SENTENCES = {
    FailureReason.STORAGE: "The archive could not be reached. Bukti tries again by itself "
    "once it answers; nothing needs to be sent again.",
    FailureReason.DATABASE: "Bukti's database could not be reached. Bukti tries again by "
    "itself once it answers; nothing needs to be sent again.",
    FailureReason.NETWORK: "The video's page could not be reached (no network). Bukti tries "
    "again by itself later, or retry it yourself.",
    FailureReason.MEDIA: "The file could not be processed in the time allowed. Retry it, or "
    "send a smaller file.",
    FailureReason.INTERNAL: "Bukti could not process this item because of an error on its "
    "side; an administrator has the details.",
}


def sentence(reason: FailureReason) -> str:
    """What a teacher reads about a failure of this class (the details go to the event log)."""
    return _SENTENCES[reason]
