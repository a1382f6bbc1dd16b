"""The domain's codes as people read them (statuses, severities, kinds), for every page."""

from __future__ import annotations

from api.web.i18n import N_, Translator
from evidence.flags import Severity
from evidence.status import Kind, Status

STATUSES: dict[str, str] = {
    Status.RECEIVED: N_("received"),
    Status.PROCESSING: N_("being checked"),
    Status.ACCEPTED: N_("accepted"),
    Status.FLAGGED: N_("flagged"),
    Status.REJECTED: N_("refused"),
    Status.FAILED: N_("failed"),
}
SEVERITIES: dict[str, str] = {
    Severity.HIGH: N_("High"),
    Severity.MEDIUM: N_("Medium"),
    Severity.LOW: N_("Low"),
    Severity.INFO: N_("Info"),
}
KINDS: dict[str, str] = {
    Kind.PHOTO: N_("Photo"),
    Kind.VIDEO: N_("Video"),
    Kind.DOCUMENT: N_("Document"),
    Kind.YOUTUBE: N_("YouTube link"),
}


def word(table: dict[str, str], code: str, t: Translator) -> str:
    """``code`` in the reader's language, from one of the tables above (else as it is)."""
    return t.gettext(table[code]) if code in table else code
