"""Request and response bodies. Field names follow SPEC.md's public contract."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from evidence.status import Role


def _parse_hhmm(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.strptime(value, "%H:%M").time()
        except ValueError:
            raise ValueError("a time of day is written HH:MM, e.g. 07:00") from None
    return value


ClockTime = Annotated[
    time,
    BeforeValidator(_parse_hhmm),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "example": "07:00"}),
]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Name = Annotated[str, Field(min_length=1, max_length=200)]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


class CalendarEntry(BaseModel):
    """Other hours (or a day off) on some weekdays and/or dates: Fridays, Ramadan, holidays."""

    label: str = Field(min_length=1, max_length=100)
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=list, description="0 = Monday ... 6 = Sunday; empty means any weekday"
    )
    start: date | None = None
    end: date | None = None
    check_in_by: ClockTime | None = None
    check_out_from: ClockTime | None = None
    day_off: bool = False


class SchoolIn(BaseModel):
    """A school to register, with K-Mob's working hours and a calendar of exceptions."""

    name: Name
    lat: Latitude
    lon: Longitude
    radius_m: float = Field(150.0, gt=0, le=50_000)
    timezone: str = "Asia/Jakarta"
    check_in_by: ClockTime = time(7, 0)
    check_out_from: ClockTime = time(15, 30)
    calendar: list[CalendarEntry] = Field(default_factory=list, max_length=500)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value


class SchoolOut(SchoolIn):
    """A registered school."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime


class TeacherIn(BaseModel):
    """A teacher to register."""

    nip: str = Field(pattern=r"^[0-9]{18}$", description="NIP: 18 digits")
    name: Name
    school_id: int
    home_lat: Latitude | None = None
    home_lon: Longitude | None = None
    youtube_channel_id: str | None = Field(None, pattern=r"^UC[0-9A-Za-z_-]{22}$")

    @model_validator(mode="after")
    def _home_is_a_pair(self) -> TeacherIn:
        if (self.home_lat is None) != (self.home_lon is None):
            raise ValueError("home_lat and home_lon go together")
        return self


class TeacherOut(TeacherIn):
    """A registered teacher."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime


class UserIn(BaseModel):
    """A user to create; a teacher user names a teacher, a reviewer a school."""

    name: Name
    role: Role
    teacher_id: int | None = None
    school_id: int | None = None

    @model_validator(mode="after")
    def _scope_fits_role(self) -> UserIn:
        if self.role is Role.TEACHER and (self.teacher_id is None or self.school_id is not None):
            raise ValueError("a teacher user needs teacher_id (and no school_id)")
        if self.role is Role.REVIEWER and (self.school_id is None or self.teacher_id is not None):
            raise ValueError("a reviewer needs school_id (and no teacher_id)")
        if self.role is Role.ADMIN and (self.school_id is not None or self.teacher_id is not None):
            raise ValueError("an admin is not scoped to a teacher or school")
        return self


class UserOut(BaseModel):
    """A user, without their token."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    role: Role
    teacher_id: int | None
    school_id: int | None
    is_active: bool
    created_at: datetime


class UserCreated(UserOut):
    """A new user with their token: shown this once, never again."""

    token: str


class Category(StrEnum):
    """TRK activity categories."""

    TEACHING = "teaching"
    PLANNING = "planning"
    ASSESSING = "assessing"
    GUIDING = "guiding"
    EXTRA_TASK = "extra_task"


class ActivityIn(BaseModel):
    """A TRK activity: a block of a teacher's working day, in the school's local time."""

    teacher_id: int
    date: date
    start: ClockTime
    end: ClockTime
    title: str = Field(min_length=1, max_length=300)
    category: Category | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> ActivityIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ActivityUpdate(BaseModel):
    """New times, title or category of an activity; attached evidence is verified again."""

    start: ClockTime | None = None
    end: ClockTime | None = None
    title: str | None = Field(None, min_length=1, max_length=300)
    category: Category | None = None


class ActivityOut(ActivityIn):
    """A logged activity."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    minutes: int
    created_at: datetime


class AttendanceStatus(StrEnum):
    """K-Mob statuses: at school, at home, on official duty elsewhere, leave, sick, excused."""

    WFO = "WFO"
    WFH = "WFH"
    DL = "DL"
    CUTI = "CUTI"
    SAKIT = "SAKIT"
    IZIN = "IZIN"


class Destination(BaseModel):
    """Where a DL (dinas luar) day takes the teacher."""

    name: Name
    lat: Latitude
    lon: Longitude
    radius_m: float = Field(150.0, gt=0, le=50_000)


class AttendanceIn(BaseModel):
    """A teacher's attendance day."""

    teacher_id: int
    date: date
    status: AttendanceStatus
    check_in: ClockTime | None = None
    check_out: ClockTime | None = None
    destination: Destination | None = None

    @model_validator(mode="after")
    def _fits_status(self) -> AttendanceIn:
        if self.status is AttendanceStatus.DL and self.destination is None:
            raise ValueError("a DL day needs its destination")
        if self.status is not AttendanceStatus.DL and self.destination is not None:
            raise ValueError("only a DL day has a destination")
        if self.check_in and self.check_out and self.check_out <= self.check_in:
            raise ValueError("check_out must be after check_in")
        return self


class AttendanceUpdate(BaseModel):
    """Changes to an attendance day; attached selfies are verified again."""

    status: AttendanceStatus | None = None
    check_in: ClockTime | None = None
    check_out: ClockTime | None = None
    destination: Destination | None = None


class AttendanceOut(BaseModel):
    """An attendance day with the flags its times earn."""

    id: int
    teacher_id: int
    date: date
    status: AttendanceStatus
    check_in: ClockTime | None
    check_out: ClockTime | None
    destination: Destination | None
    flags: list[FlagOut]


class FlagOut(BaseModel):
    """A flag on an item: SPEC's public shape."""

    code: str
    severity: str
    detail: str
    related_evidence_id: int | None


class ReviewOut(BaseModel):
    """A reviewer's decision, kept beside the item's status."""

    decision: str
    reviewer_id: int
    reason: str | None
    at: datetime


class Sizes(BaseModel):
    """Bytes received and bytes kept: ``stored_bytes`` is the rendition kept as the evidence."""

    original_bytes: int
    stored_bytes: int | None
    rendition_bytes: int | None


class Archive(BaseModel):
    """Where the archived copies are, and when they got there."""

    original_key: str | None
    rendition_key: str | None
    preview_key: str | None = None
    archived_at: datetime | None
    backend: str


class EvidenceOut(BaseModel):
    """An evidence item as SPEC.md names its fields."""

    id: int
    status: str
    kind: str
    mime: str
    teacher_id: int
    activity_id: int | None
    attendance_id: int | None = None
    month: str | None = None
    requirement: str | None = None
    video_id: str | None = None
    source_url: str | None = None
    received_at: datetime
    processed_at: datetime | None
    reason: str | None
    facts: dict[str, Any] | None
    hashes: dict[str, Any]
    flags: list[FlagOut]
    sizes: Sizes
    archive: Archive
    review: ReviewOut | None


class EventOut(BaseModel):
    """One line of an item's event log."""

    model_config = ConfigDict(from_attributes=True)
    at: datetime
    step: str
    outcome: str
    detail: str | None
