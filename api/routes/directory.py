"""Schools, teachers and users: the directory an admin sets up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select

from api.auth import new_token, token_digest
from api.deps import AdminDep, DbDep, PrincipalDep
from api.pagination import PagingDep, paginate
from api.schemas import (
    Page,
    SchoolIn,
    SchoolOut,
    TeacherIn,
    TeacherOut,
    UserCreated,
    UserIn,
    UserOut,
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
def get_school(school_id: int, db: DbDep, who: PrincipalDep) -> School:
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
    school_id: Annotated[int | None, Query()] = None,
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
def get_teacher(teacher_id: int, db: DbDep, who: PrincipalDep) -> Teacher:
    """One teacher, if the caller may see them."""
    return visible_teacher(db, who, teacher_id)


@router.post("/users", status_code=201, response_model=UserCreated, tags=["users"])
def create_user(body: UserIn, db: DbDep, _: AdminDep) -> UserCreated:
    """Create a user and show their bearer token once (admin)."""
    if body.teacher_id is not None and db.get(Teacher, body.teacher_id) is None:
        raise NotFoundError(f"teacher {body.teacher_id} not found")
    if body.school_id is not None and db.get(School, body.school_id) is None:
        raise NotFoundError(f"school {body.school_id} not found")
    user, token = add_user(db, body)
    return UserCreated(**UserOut.model_validate(user).model_dump(), token=token)


@router.get("/users", response_model=Page[UserOut], tags=["users"])
def list_users(
    db: DbDep,
    _: AdminDep,
    paging: PagingDep,
    role: Annotated[Role | None, Query()] = None,
) -> Page[UserOut]:
    """Users, optionally of one role (admin)."""
    query = select(User).order_by(User.id)
    if role is not None:
        query = query.where(User.role == role.value)
    return paginate(db, query, paging, UserOut.model_validate)


@router.get("/users/me", response_model=UserOut, tags=["users"])
def who_am_i(db: DbDep, who: PrincipalDep) -> User:
    """The caller."""
    user = db.get(User, who.user_id)
    if user is None:  # deleted between authentication and now
        raise HTTPException(401, "the bearer token is not valid")
    return user


def add_user(db: DbDep, body: UserIn) -> tuple[User, str]:
    """Create a user; returns it with its token (the only time the token exists in clear)."""
    token = new_token()
    user = User(
        name=body.name,
        role=body.role.value,
        teacher_id=body.teacher_id,
        school_id=body.school_id,
        token_sha256=token_digest(token),
    )
    db.add(user)
    db.flush()
    return user, token


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
