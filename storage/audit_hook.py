"""Every change to the directory and the records goes to the audit trail, from one place.

A session hook, not a call in each route: after every flush it notes what changed in the
audited models (created, updated with old and new values, deleted), and just before the
transaction commits it appends those changes to the chain (storage.audit) — last in the
transaction, as the chain wants. Routes written later are covered without a line of theirs.

Who did it comes from :data:`acting_as`, a context variable: the API's authentication sets
the caller, the command line its operator, and anything unset is the system (workers).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from storage.audit import Actor, Entry, append_many
from storage.models import (
    Activity,
    ApiToken,
    Attendance,
    Base,
    Evidence,
    Review,
    School,
    Teacher,
    User,
)

acting_as: ContextVar[Actor | None] = ContextVar("bukti_acting_as", default=None)
"""Who the current request, command or job acts as; None means the system itself."""

#: the audited models and the noun their entries use (``teacher.updated``, ``teacher:7``)
AUDITED: dict[type[Base], str] = {
    School: "school",
    Teacher: "teacher",
    User: "user",
    ApiToken: "token",
    Activity: "activity",
    Attendance: "attendance",
    Review: "review",
}

#: columns that change by themselves: recording them would bury the changes people made
_UNRECORDED = frozenset({"created_at", "updated_at", "last_used_at"})
#: columns whose values are never written to the trail, only that they changed
_SECRET = frozenset({"token_sha256", "password_hash"})

_PENDING = "bukti_audit_pending"


@dataclass
class _Change:
    """What happened to one record in a transaction, merged across its flushes."""

    record: Base
    noun: str
    verb: str
    old: dict[str, Any]
    new: dict[str, Any]


def _value(key: str, value: Any) -> Any:
    return "(secret)" if key in _SECRET and value is not None else value


def _columns(record: Base) -> dict[str, Any]:
    mapper = inspect(type(record))
    return {
        column.key: _value(column.key, getattr(record, column.key))
        for column in mapper.column_attrs
        if column.key not in _UNRECORDED
    }


def _differences(record: Base) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(record)
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for column in inspect(type(record)).column_attrs:
        key = column.key
        if key in _UNRECORDED:
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before != after:
            old[key], new[key] = _value(key, before), _value(key, after)
    return old, new


def _note(
    session: Session, record: Base, verb: str, old: dict[str, Any], new: dict[str, Any]
) -> None:
    noun = AUDITED[type(record)]
    pending: dict[tuple[str, int], _Change] = session.info.setdefault(_PENDING, {})
    key = (noun, id(record))
    seen = pending.get(key)
    if seen is None:
        pending[key] = _Change(record, noun, verb, old, new)
        return
    # a record changed by several flushes: first old values, last new ones
    for name, value in old.items():
        seen.old.setdefault(name, value)
    seen.new.update(new)
    if verb == "deleted":
        seen.verb = "deleted" if seen.verb != "created" else "created-and-deleted"


def _collect(session: Session, _flush_context: Any) -> None:
    """after_flush: ids are assigned, and each attribute's history still shows the change."""
    for record in session.new:
        if type(record) in AUDITED:
            _note(session, record, "created", {}, _columns(record))
    for record in session.dirty:
        if type(record) in AUDITED:
            old, new = _differences(record)
            if new or old:
                _note(session, record, "updated", old, new)
    for record in session.deleted:
        if type(record) in AUDITED:
            _note(session, record, "deleted", _columns(record), {})


def _write(session: Session) -> None:
    """before_commit: flush what is left, then append the transaction's changes, last."""
    if not session.info.get(_PENDING) and not any(
        type(record) in AUDITED for record in (*session.new, *session.dirty, *session.deleted)
    ):
        return
    session.flush()
    pending: dict[tuple[str, int], _Change] = session.info.pop(_PENDING, {})
    actor = acting_as.get() or Actor.system()
    entries = []
    for change in pending.values():
        if change.verb == "created-and-deleted":
            continue
        record_id = getattr(change.record, "id", None)
        school_id, evidence_id = _scope(session, change.record)
        entries.append(
            Entry(
                actor,
                f"{change.noun}.{change.verb}",
                f"{change.noun}:{record_id}",
                evidence_id=evidence_id,
                school_id=school_id,
                data={"old": change.old or None, "new": change.new or None},
            )
        )
    append_many(session, entries)


def _scope(session: Session, record: Base) -> tuple[int | None, int | None]:
    """The school whose people may read the entry, and the evidence item it concerns."""
    if isinstance(record, School):
        return record.id, None
    if isinstance(record, Teacher):
        return record.school_id, None
    if isinstance(record, User):
        if record.school_id is not None or record.teacher_id is None:
            return record.school_id, None
        return _school_of_teacher(session, record.teacher_id), None
    if isinstance(record, ApiToken):
        user = session.get(User, record.user_id)
        return (_scope(session, user)[0] if user else None), None
    if isinstance(record, Activity | Attendance):
        return _school_of_teacher(session, record.teacher_id), None
    if isinstance(record, Review):
        item = session.get(Evidence, record.evidence_id)
        school = _school_of_teacher(session, item.teacher_id) if item else None
        return school, record.evidence_id
    return None, None


def _school_of_teacher(session: Session, teacher_id: int) -> int | None:
    teacher = session.get(Teacher, teacher_id)
    return teacher.school_id if teacher else None


def _discard(session: Session, *_: Any) -> None:
    """A rolled-back transaction changed nothing: nothing of it goes to the trail."""
    session.info.pop(_PENDING, None)


def install() -> None:
    """Attach the hooks to every session (idempotent); storage.db calls it on import."""
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "before_commit", _write)
        event.listen(Session, "after_rollback", _discard)
