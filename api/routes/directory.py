"""Schools, teachers and users: the directory an admin sets up."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import hash_password, issue_token, normalise_login, password_problem
from api.deps import AdminDep, DbDep, PrincipalDep
from api.pagination import PagingDep, paginate
from api.reverify import queue_reverification
from api.schemas import (
    CalendarEntry,
    ClockTime,
    Latitude,
    Longitude,
    Name,
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
    ZoneName,
)
from api.scoping import visible_teacher
from bukti.errors import ConflictError, InvalidRequestError, NotFoundError
from evidence.status import Kind, Role
from storage.models import School, Teacher, User
from storage.repositories import (
    items_of_teachers,
    items_placed_at_home,
    items_placed_at_school,
    teachers_of_school,
)

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


class SchoolUpdate(BaseModel):
    """Changes to a school; what its evidence is checked against is verified again."""

    name: Name | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    radius_m: float | None = Field(None, gt=0, le=50_000)
    timezone: ZoneName | None = None
    check_in_by: ClockTime | None = None
    check_out_from: ClockTime | None = None
    calendar: list[CalendarEntry] | None = Field(None, max_length=500)
    start_date: date | None = None
    is_active: bool | None = None


# What each field of a school is read by: a change of these re-verifies its items.
_SCHOOL_PLACE = ("name", "lat", "lon", "radius_m")
_NOT_NULL_SCHOOL = (*_SCHOOL_PLACE, "timezone", "check_in_by", "check_out_from", "calendar")

_TEACHER_ITEM_KINDS = (Kind.PHOTO.value, Kind.VIDEO.value, Kind.DOCUMENT.value)


def _plain(value: Any) -> Any:
    if isinstance(value, date | time):
        return value.isoformat()
    return value


@router.patch("/schools/{school_id}", response_model=SchoolOut, tags=["schools"])
def update_school(
    school_id: RecordId, body: SchoolUpdate, request: Request, db: DbDep, _: AdminDep
) -> School:
    """Change a school (admin): its place, zone, hours, calendar, start date, or deactivate it.

    A new place re-verifies the items placed against the school's geofence; a new zone every
    item of its teachers. Hours, calendar and start date change only the days' record flags
    and targets, which are computed when a day is read: no item is verified again for them.
    """
    school = db.get(School, school_id)
    if school is None:
        raise NotFoundError(f"school {school_id} not found")
    changes = body.model_dump(exclude_unset=True, mode="json")
    nulls = sorted(name for name in _NOT_NULL_SCHOOL if name in changes and changes[name] is None)
    if nulls:
        raise InvalidRequestError(f"{', '.join(nulls)} cannot be removed, only changed")
    if changes.get("is_active") is None:
        changes.pop("is_active", None)
    old = {name: _plain(getattr(school, name)) for name in changes}
    values = body.model_dump(exclude_unset=True)
    for name in changes:
        value = values[name]
        if name == "calendar":
            value = [entry.model_dump(mode="json") for entry in body.calendar or []]
        setattr(school, name, value)
    if school.check_out_from <= school.check_in_by:
        raise InvalidRequestError("check_out_from must be after check_in_by")
    db.flush()
    affected: list[int] = []
    if any(old[name] != _plain(getattr(school, name)) for name in _SCHOOL_PLACE if name in old):
        affected += items_placed_at_school(db, school.id)
    if "timezone" in old and old["timezone"] != school.timezone:
        affected += items_of_teachers(db, teachers_of_school(db, school.id), _TEACHER_ITEM_KINDS)
    queue_reverification(request, db, sorted(set(affected)))
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


class TeacherUpdate(BaseModel):
    """Changes to a teacher; what their evidence is checked against is verified again."""

    name: Name | None = None
    school_id: RecordId | None = None
    home_lat: Latitude | None = None
    home_lon: Longitude | None = None
    youtube_channel_id: str | None = Field(None, pattern=r"^UC[0-9A-Za-z_-]{22}$")
    start_date: date | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _home_is_a_pair(self) -> TeacherUpdate:
        fields = self.model_fields_set
        if ("home_lat" in fields) != ("home_lon" in fields) or (
            (self.home_lat is None) != (self.home_lon is None)
        ):
            raise ValueError("home_lat and home_lon go together")
        return self


@router.patch("/teachers/{teacher_id}", response_model=TeacherOut, tags=["teachers"])
def update_teacher(
    teacher_id: RecordId, body: TeacherUpdate, request: Request, db: DbDep, _: AdminDep
) -> Teacher:
    """Change a teacher (admin): home, school, channel, start date, or deactivate them.

    A new home re-verifies the items of their WFH days; a new school every item that its
    geofence and zone are read for; a new channel their YouTube links.
    """
    teacher = db.get(Teacher, teacher_id)
    if teacher is None:
        raise NotFoundError(f"teacher {teacher_id} not found")
    changes = body.model_dump(exclude_unset=True)
    for name in ("name", "school_id", "is_active"):
        if name in changes and changes[name] is None:
            raise InvalidRequestError(f"{name} cannot be removed, only changed")
    if "school_id" in changes and db.get(School, changes["school_id"]) is None:
        raise NotFoundError(f"school {changes['school_id']} not found")
    old = {name: _plain(getattr(teacher, name)) for name in changes}
    for name, value in changes.items():
        setattr(teacher, name, value)
    db.flush()
    changed = {name for name in old if old[name] != _plain(getattr(teacher, name))}
    affected: list[int] = []
    if changed & {"home_lat", "home_lon"}:
        affected += items_placed_at_home(db, teacher.id)
    if "school_id" in changed:
        affected += items_of_teachers(db, [teacher.id], _TEACHER_ITEM_KINDS)
    if "youtube_channel_id" in changed:
        affected += items_of_teachers(db, [teacher.id], [Kind.YOUTUBE.value])
    queue_reverification(request, db, sorted(set(affected)))
    return teacher


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
        login=normalise_login(body.login) if body.login else None,
    )
    if body.password is not None:
        set_password(db, user, body.password.get_secret_value())
    elif user.login is not None:
        _ensure_login_free(db, user)
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


def set_password(db: Session, user: User, password: str) -> None:
    """Give ``user`` a new password (and a teacher their NIP as login); ends the slow-down.

    Raises :class:`InvalidRequestError` for a weak password, :class:`ConflictError` when the
    login is someone else's.
    """
    problem = password_problem(password)
    if problem is not None:
        raise InvalidRequestError(problem)
    if user.login is None and user.teacher_id is not None:
        teacher = db.get(Teacher, user.teacher_id)
        user.login = teacher.nip if teacher is not None else None
    if user.login is None:
        raise InvalidRequestError("this user has no login to sign in with")
    _ensure_login_free(db, user)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None


def _ensure_login_free(db: Session, user: User) -> None:
    assert user.login is not None
    query = select(User.id).where(func.lower(User.login) == user.login.lower())
    if user.id is not None:
        query = query.where(User.id != user.id)
    if db.scalar(query) is not None:
        raise ConflictError(f"the login {user.login!r} belongs to another user")


def _school_of(db: DbDep, who: PrincipalDep) -> int | None:
    if who.school_id is not None:
        return who.school_id
    if who.teacher_id is not None:
        teacher = db.get(Teacher, who.teacher_id)
        return teacher.school_id if teacher else None
    return None
