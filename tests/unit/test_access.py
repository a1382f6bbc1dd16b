"""Who may see and write what: the scope rules behind every route."""

from __future__ import annotations

from api.auth import Principal, new_token, token_digest
from evidence.status import Role

ADMIN = Principal(1, "admin", Role.ADMIN)
REVIEWER = Principal(2, "koordinator", Role.REVIEWER, school_id=10)
TEACHER = Principal(3, "erni", Role.TEACHER, teacher_id=100)


def test_teacher_sees_only_their_own_records() -> None:
    assert TEACHER.can_see_teacher(100, 10)
    assert not TEACHER.can_see_teacher(101, 10)


def test_reviewer_sees_their_school_only() -> None:
    assert REVIEWER.can_see_teacher(100, 10) and REVIEWER.can_see_teacher(101, 10)
    assert not REVIEWER.can_see_teacher(200, 20)


def test_admin_sees_everything() -> None:
    assert ADMIN.can_see_teacher(200, 20)


def test_only_the_teacher_or_an_admin_writes_a_teachers_records() -> None:
    assert TEACHER.can_write_teacher(100)
    assert not TEACHER.can_write_teacher(101)
    assert not REVIEWER.can_write_teacher(100)
    assert ADMIN.can_write_teacher(100)


def test_tokens_are_random_and_stored_as_digests() -> None:
    first, second = new_token(), new_token()
    assert first != second and first.startswith("bkt_") and len(first) > 40
    assert token_digest(first) != first and len(token_digest(first)) == 64
    assert token_digest(first) == token_digest(first)
