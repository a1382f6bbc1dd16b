"""S3 Object Lock for archived originals: locked until the first day the policy in force
could let them go, and legal holds mirrored onto them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from evidence.retention import Outcome, add_years, month_closed_on
from storage.backend import ObjectStore
from storage.holds import mirror_legal_holds
from storage.models import ArchiveObject, Evidence, utcnow
from storage.policies import active_policy
from storage.retained import retained_items


def protect_original(
    session: Session, store: ObjectStore, item: Evidence, held: ArchiveObject
) -> None:
    """Lock a just-archived original (S3 Object Lock) until the first day the policy in force
    could let it go, and mirror the legal holds that already cover the item; nothing when the
    store has no object lock or the policy keeps originals for ever."""
    if not store.has_object_lock:
        return
    _, rules = active_policy(session)
    [retained] = retained_items(session, [item.id], with_copies=False)
    rule = rules.get((retained.kind, Outcome.ACCEPTED))
    if rule is not None:
        start = month_closed_on(retained.day)
        if rule.keep_original_days is not None:
            due = start + timedelta(days=rule.keep_original_days)
        elif rule.keep_copies_years is not None:
            due = add_years(start, rule.keep_copies_years)
        else:
            due = None
        until = datetime.combine(due, time(), UTC) if due else None
        # a lock can only be lengthened: S3 refuses to shorten one without a bypass
        if until and until > utcnow() and (held.locked_until is None or until > held.locked_until):
            held.lock_mode = store.lock(held.key, until)
            held.locked_until = until
    mirror_legal_holds(session, store, [item.id])
