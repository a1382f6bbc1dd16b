"""Schools, teachers and users: the directory an admin sets up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import issue_token
from api.deps import AdminDep, DbDep, PrincipalDep
from api.pagination import PagingDep, paginate
from api.schemas import (
    Page,
    RecordId,
    SchoolIn,
    SchoolOut,
    TeacherIn,
    TeacherOut,
    UserCreated,
    UserIn,
    UserOut,
    UserUpdate,
)
from bukti.errors import ConflictError, NotFoundError
from evidence.status import Role
from storage.models import School, Teacher, User

router = APIRouter(prefix="/api/v1")


@router.post("/schools", status_code=201, response_model=SchoolOut, tags=["schools"])
def create_school(body: SchoolIn, db: DbDep, _: AdminDep) -> School:
    """Register a school with its geofence and time zone (admin)."""
    school = School(
        **body.model_dump(exclude={"calendar"}),
        calendar=[entry.model_dump(mode="json") for entry in body.calendar],
    )
    db.add(school)
    db.flush()
    return school


@router.get("/schools", response_model=Page[SchoolOut], tags=["schools"])
def list_schools(db: DbDep, who: PrincipalDep, paging: PagingDep) -> Page[SchoolOut]:
    """Schools the caller may see: all for an admin, their own otherwise."""
    query = select(School).order_by(School.id)
    if not who.is_admin:
        query = query.where(School.id == _school_of(db, who))
    return paginate(db, query, paging, SchoolOut.model_validate)


@router.get("/schools/{school_id}", response_model=SchoolOut, tags=["schools"])
def get_school(school_id: RecordId, db: DbDep, who: PrincipalDep) -> School:
    """One school."""
    school = db.get(School, school_id)
    if school is None or (not who.is_admin and school.id != _school_of(db, who)):
        raise NotFoundError(f"school {school_id} not found")
    return school


@router.post("/teachers", status_code=201, response_model=TeacherOut, tags=["teachers"])
def create_teacher(body: TeacherIn, db: DbDep, _: AdminDep) -> Teacher:
    """Register a teacher (admin); the NIP is unique."""
    if db.get(School, body.school_id) is None:
        raise NotFoundError(f"school {body.school_id} not found")
    if db.scalar(select(Teacher.id).where(Teacher.nip == body.nip)) is not None:
        raise ConflictError(f"a teacher with NIP {body.nip} is already registered")
    teacher = Teacher(**body.model_dump())
    db.add(teacher)
    db.flush()
    return teacher


@router.get("/teachers", response_model=Page[TeacherOut], tags=["teachers"])
def list_teachers(
    db: DbDep,
    who: PrincipalDep,
    paging: PagingDep,
    school_id: Annotated[RecordId | None, Query()] = None,
    nip: Annotated[str | None, Query()] = None,
) -> Page[TeacherOut]:
    """Teachers the caller may see, filtered by school or NIP."""
    query = select(Teacher).order_by(Teacher.id)
    if who.role is Role.TEACHER:
        query = query.where(Teacher.id == who.teacher_id)
    elif who.role is Role.REVIEWER:
        query = query.where(Teacher.school_id == who.school_id)
    if school_id is not None:
        query = query.where(Teacher.school_id == school_id)
    if nip is not None:
        query = query.where(Teacher.nip == nip)
    return paginate(db, query, paging, TeacherOut.model_validate)


@router.get("/teachers/{teacher_id}", response_model=TeacherOut, tags=["teachers"])
def get_teacher(teacher_id: RecordId, db: DbDep, who: PrincipalDep) -> Teacher:
    """One teacher, if the caller may see them."""
    return visible_teacher(db, who, teacher_id)


@router.post("/users", status_code=201, response_model=UserCreated, tags=["users"])
def create_user(body: UserIn, db: DbDep, _: AdminDep) -> UserCreated:
    """Create a user and show their bearer token once (admin)."""
    _check_scope_exists(db, body)
    user, token = add_user(db, body)
    return UserCreated(**UserOut.model_validate(user).model_dump(), token=token)


@router.get("/users", response_model=Page[UserOut], tags=["users"])
def list_users(
    db: DbDep,
    _: AdminDep,
    paging: PagingDep,
    role: Annotated[Role | None, Query()] = None,
    active: Annotated[bool | None, Query(description="only active (or inactive) users")] = None,
) -> Page[UserOut]:
    """Users, optionally of one role (admin)."""
    query = select(User).order_by(User.id)
    if role is not None:
        query = query.where(User.role == role.value)
    if active is not None:
        query = query.where(User.is_active.is_(active))
    return paginate(db, query, paging, UserOut.model_validate)


@router.get("/users/me", response_model=UserOut, tags=["users"])
def who_am_i(db: DbDep, who: PrincipalDep) -> User:
    """The caller."""
    user = db.get(User, who.user_id)
    if user is None:  # deleted between authentication and now
        raise HTTPException(401, "the bearer token is not valid")
    return user


@router.get("/users/{user_id}", response_model=UserOut, tags=["users"])
def get_user(user_id: RecordId, db: DbDep, _: AdminDep) -> User:
    """One user (admin)."""
    return _user(db, user_id)


@router.patch("/users/{user_id}", response_model=UserOut, tags=["users"])
def update_user(user_id: RecordId, body: UserUpdate, db: DbDep, who: AdminDep) -> User:
    """Rename a user, change their role and scope, or deactivate them (admin).

    Users are deactivated, never deleted: their uploads and decisions keep naming them, and
    a deactivated user's tokens answer 401 until they are active again. The last active
    admin cannot be deactivated or demoted.
    """
    user = _user(db, user_id)
    changes = body.model_dump(exclude_unset=True)
    scope = UserIn.model_validate(
        {
            "name": changes.get("name", user.name),
            "role": changes.get("role", user.role),
            "teacher_id": changes.get("teacher_id", user.teacher_id),
            "school_id": changes.get("school_id", user.school_id),
        }
    )
    _check_scope_exists(db, scope)
    active = changes.get("is_active", user.is_active)
    if user.role == Role.ADMIN and (scope.role is not Role.ADMIN or not active):
        others = db.scalar(
            select(func.count(User.id)).where(
                User.role == Role.ADMIN.value, User.is_active.is_(True), User.id != user.id
            )
        )
        if not others:
            raise ConflictError("this is the last active admin: make another admin first")
    user.name = scope.name
    user.role = scope.role.value
    user.teacher_id = scope.teacher_id
    user.school_id = scope.school_id
    user.is_active = active
    db.flush()
    return user


def add_user(db: Session, body: UserIn) -> tuple[User, str]:
    """Create a user with a first token; returns it with the token (its only time in clear)."""
    user = User(
        name=body.name,
        role=body.role.value,
        teacher_id=body.teacher_id,
        school_id=body.school_id,
    )
    db.add(user)
    db.flush()
    _, token = issue_token(db, user, "first token")
    return user, token


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    return user


def _check_scope_exists(db: Session, body: UserIn) -> None:
    if body.teacher_id is not None and db.get(Teacher, body.teacher_id) is None:
        raise NotFoundError(f"teacher {body.teacher_id} not found")
    if body.school_id is not None and db.get(School, body.school_id) is None:
        raise NotFoundError(f"school {body.school_id} not found")


def visible_teacher(db: DbDep, who: PrincipalDep, teacher_id: int) -> Teacher:
    """The teacher if the caller may see them; 404 otherwise (existence is not disclosed)."""
    teacher = db.get(Teacher, teacher_id)
    if teacher is None or not who.can_see_teacher(teacher.id, teacher.school_id):
        raise NotFoundError(f"teacher {teacher_id} not found")
    return teacher


def _school_of(db: DbDep, who: PrincipalDep) -> int | None:
    if who.school_id is not None:
        return who.school_id
    if who.teacher_id is not None:
        teacher = db.get(Teacher, who.teacher_id)
        return teacher.school_id if teacher else None
    return None
