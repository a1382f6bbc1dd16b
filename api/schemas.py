"""Request and response bodies. Field names follow SPEC.md's public contract."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from bukti.errors import InvalidRequestError
from evidence.flags import Code, Severity
from evidence.review import Decision, ReasonCode
from evidence.status import Kind, Role, Status
from evidence.youtube import Requirement

#: ids are 32-bit integers in the database: a larger number names nothing, and is refused
MAX_ID = 2**31 - 1

RecordId = Annotated[int, Field(ge=1, le=MAX_ID, description="a record's id")]
"""An id as a path, query, form or JSON value: 1 to 2^31 - 1, so it always fits the column."""

_record_id = TypeAdapter(RecordId)


def parse_record_id(raw: str, name: str) -> int:
    """A form or metadata field holding an id; a 422 problem names the field otherwise."""
    try:
        return _record_id.validate_python(int(raw.strip()))
    except (ValueError, ValidationError):
        raise InvalidRequestError(
            f"the field {name!r} must be an id: a whole number from 1 to {MAX_ID}"
        ) from None


def refuse_nul(value: str) -> str:
    """Text with a NUL character is refused: PostgreSQL cannot store it, no client means it."""
    if "\x00" in value:
        raise ValueError("text may not contain NUL (\\x00) characters")
    return value


Text = Annotated[str, AfterValidator(refuse_nul)]
"""Any text a client sends: stored as given, except that NUL characters are refused."""


def _parse_hhmm(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.strptime(value, "%H:%M").time()
        except ValueError:
            raise ValueError("a time of day is written HH:MM, e.g. 07:00") from None
    if isinstance(value, time) and value.tzinfo is None:
        return value
    # pydantic would read a number as seconds since midnight, in UTC: never what is meant
    raise ValueError("a time of day is a string written HH:MM, e.g. 07:00")


ClockTime = Annotated[
    time,
    BeforeValidator(_parse_hhmm),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "example": "07:00"}),
]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
Title = Annotated[Text, Field(min_length=1, max_length=300)]


class Patch(BaseModel):
    """A partial update: a field left out keeps its value, ``null`` empties it.

    Fields named in ``keeps_value`` always hold a value (a start time, a status): ``null``
    for them is refused with a 422 rather than stored or crashing, and their JSON schema
    says so (not nullable).
    """

    keeps_value: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_kept_values(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulled = sorted(name for name in cls.keeps_value if name in data and data[name] is None)
            if nulled:
                raise ValueError(
                    f"{', '.join(nulled)} cannot be null: leave a field out to keep its value"
                )
        return data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema: dict[str, Any] = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name in cls.keeps_value:
            prop = target.get("properties", {}).get(name, {})
            variants = prop.pop("anyOf", None)
            if variants is not None:
                kept = [v for v in variants if v.get("type") != "null"]
                prop.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
            prop.pop("default", None)
        return schema


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


class CalendarEntry(BaseModel):
    """Other hours (or a day off) on some weekdays and/or dates: Fridays, Ramadan, holidays."""

    label: Annotated[Text, Field(min_length=1, max_length=100)]
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=list, description="0 = Monday ... 6 = Sunday; empty means any weekday"
    )
    start: date | None = None
    end: date | None = None
    check_in_by: ClockTime | None = None
    check_out_from: ClockTime | None = None
    day_off: bool = False


def known_zone(value: str) -> str:
    """An IANA zone name, or a validation error that says what is expected."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
    return value


ZoneName = Annotated[str, AfterValidator(known_zone)]


class SchoolIn(BaseModel):
    """A school to register, with K-Mob's working hours and a calendar of exceptions."""

    name: Name
    lat: Latitude
    lon: Longitude
    radius_m: float = Field(150.0, gt=0, le=50_000)
    timezone: ZoneName = "Asia/Jakarta"
    check_in_by: ClockTime = time(7, 0)
    check_out_from: ClockTime = time(15, 30)
    calendar: list[CalendarEntry] = Field(default_factory=list, max_length=500)
    start_date: date | None = Field(
        None, description="first day Bukti counts for the school's teachers; unset: always"
    )


class SchoolOut(SchoolIn):
    """A registered school."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    is_active: bool = True
    created_at: datetime


class TeacherIn(BaseModel):
    """A teacher to register."""

    nip: str = Field(pattern=r"^[0-9]{18}$", description="NIP: 18 digits")
    name: Name
    school_id: RecordId
    home_lat: Latitude | None = None
    home_lon: Longitude | None = None
    youtube_channel_id: str | None = Field(None, pattern=r"^UC[0-9A-Za-z_-]{22}$")
    start_date: date | None = Field(
        None, description="first day Bukti counts for the teacher (joined, moved); unset: always"
    )

    @model_validator(mode="after")
    def _home_is_a_pair(self) -> TeacherIn:
        if (self.home_lat is None) != (self.home_lon is None):
            raise ValueError("home_lat and home_lon go together")
        return self


class TeacherOut(TeacherIn):
    """A registered teacher."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    is_active: bool = True
    created_at: datetime


LOGIN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$"


class UserIn(BaseModel):
    """A user to create; a teacher user names a teacher, a reviewer a school.

    With a ``password`` the user may also sign in on the pages: a teacher with their NIP,
    a reviewer or an admin with ``login``.
    """

    name: Name
    role: Role
    teacher_id: RecordId | None = None
    school_id: RecordId | None = None
    login: str | None = Field(
        None,
        pattern=LOGIN_PATTERN,
        description="Sign-in name of a reviewer or admin (a teacher signs in with their NIP).",
    )
    password: SecretStr | None = Field(
        None, min_length=10, max_length=256, description="Initial password for the pages."
    )

    @model_validator(mode="after")
    def _login_fits_role(self) -> UserIn:
        if self.role is Role.TEACHER and self.login is not None:
            raise ValueError("a teacher signs in with their NIP: leave login out")
        if self.role is not Role.TEACHER and self.password is not None and self.login is None:
            raise ValueError("a reviewer or admin with a password needs a login to sign in with")
        return self

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
    login: str | None = Field(None, description="What the user signs in with on the pages.")


class UserUpdate(Patch):
    """Changes to a user: name, role and scope (checked together), active or not."""

    keeps_value = frozenset({"name", "role", "is_active"})

    name: Name | None = None
    role: Role | None = None
    teacher_id: RecordId | None = None
    school_id: RecordId | None = None
    is_active: bool | None = None


class UserCreated(UserOut):
    """A new user with their token: shown this once, never again."""

    token: str


class TokenOut(BaseModel):
    """A bearer token as listed: never its secret, only a hash of it is kept."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    user_id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None = Field(description="to the minute: written once a minute")
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    """A new token with its secret: shown this once, never again."""

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

    teacher_id: RecordId
    date: date
    start: ClockTime
    end: ClockTime
    title: Title
    category: Category | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> ActivityIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ActivityUpdate(Patch):
    """New times, title or category of an activity; attached evidence is verified again."""

    keeps_value = frozenset({"start", "end", "title"})

    start: ClockTime | None = None
    end: ClockTime | None = None
    title: Title | None = None
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
    """Where a DL (dinas luar) day takes the teacher; its zone is the day's local zone."""

    name: Name
    lat: Latitude
    lon: Longitude
    radius_m: float = Field(150.0, gt=0, le=50_000)
    timezone: ZoneName | None = Field(
        None, description="IANA zone of the destination; unset: the zone at its position"
    )


class AttendanceIn(BaseModel):
    """A teacher's attendance day."""

    teacher_id: RecordId
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


class AttendanceUpdate(Patch):
    """Changes to an attendance day; attached selfies are verified again."""

    keeps_value = frozenset({"status"})

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
    check_in_selfie_id: int | None = Field(
        None, description="the check-in selfie whose capture time is the check-in time"
    )
    check_out_selfie_id: int | None = Field(
        None, description="the check-out selfie whose capture time is the check-out time"
    )
    flags: list[FlagOut]


class FlagOut(BaseModel):
    """A flag on an item: SPEC's public shape (docs/vocabulary.md lists every code)."""

    code: Code
    severity: Severity
    detail: str
    related_evidence_id: int | None


class ReviewOut(BaseModel):
    """A reviewer's decision, kept beside the item's status: ``approved``, ``rejected`` or
    ``ask_again`` (the teacher is asked for another proof)."""

    decision: Decision
    reviewer_id: int
    reason_code: ReasonCode | None = None
    reason: str | None
    at: datetime


class Sizes(BaseModel):
    """Bytes received and bytes kept: ``stored_bytes`` is the sum of every copy the archive
    holds for the item now (original, rendition, preview, sanitised copy); retention lowers it."""

    original_bytes: int
    stored_bytes: int | None
    rendition_bytes: int | None


class ArchiveCopy(BaseModel):
    """One copy of an item in the archive: held now, or released by retention (the SHA-256
    stays on record, so a receipt of the original stays valid after it is gone)."""

    klass: str = Field(
        serialization_alias="class", description="original, rendition, sanitised, preview or poster"
    )
    key: str
    size_bytes: int
    sha256: str
    held: bool
    released_at: datetime | None
    restorable_until: datetime | None


class Archive(BaseModel):
    """Where the archived copies are, and when they got there."""

    original_key: str | None
    rendition_key: str | None
    preview_key: str | None = None
    archived_at: datetime | None
    backend: str
    #: every copy the item has had and whether it is held now (one item's view only)
    copies: list[ArchiveCopy] | None = None


class Sourced(BaseModel):
    """A fact and where it was read from (``exif:DateTimeOriginal``, ``client``, ...)."""

    value: Any
    source: str


class Facts(BaseModel):
    """What the item's metadata says, each value with its source where it has one.

    Photos and videos fill the capture fields, documents ``doc_type`` and theirs, links
    ``youtube``; fields a kind does not have are absent. Facts added later arrive as further
    properties, so clients should ignore what they do not know.
    """

    model_config = ConfigDict(extra="allow")

    width: int | None = None
    height: int | None = None
    format: str | None = None
    captured_local: Sourced | None = None
    utc_offset_min: Sourced | None = None
    modified_local: Sourced | None = None
    gps_time_utc: Sourced | None = None
    location: Sourced | None = None
    make: Sourced | None = None
    model: Sourced | None = None
    software: Sourced | None = None
    creator_tool: Sourced | None = None
    duration_s: float | None = None
    doc_type: str | None = None
    page_count: Sourced | None = None
    youtube: dict[str, Any] | None = None


class Hashes(BaseModel):
    """The original's SHA-256 and, once hashed, its perceptual hashes (hex strings)."""

    model_config = ConfigDict(extra="allow")

    sha256: str = Field(pattern="^[0-9a-f]{64}$")


class EvidenceOut(BaseModel):
    """An evidence item as SPEC.md names its fields."""

    id: int
    status: Status
    kind: Kind
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
    facts: Facts | None
    hashes: Hashes
    flags: list[FlagOut]
    sizes: Sizes
    archive: Archive
    review: ReviewOut | None = Field(description="the decision that stands (the latest)")
    reviews: list[ReviewOut] = Field(
        default_factory=list, description="every decision, oldest first: none is ever erased"
    )
    answers_evidence_id: int | None = Field(
        None, description="the item a reviewer asked to replace that this one answers"
    )


class EventOut(BaseModel):
    """One line of an item's event log."""

    model_config = ConfigDict(from_attributes=True)
    at: datetime
    step: str
    outcome: str
    detail: str | None


Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-10"])]


class _UploadForm(BaseModel):
    """A multipart upload: the file, and the phone's position at capture when it has one."""

    file: bytes = Field(description="the photo, video or document; its type is read from its bytes")
    lat: Latitude | None = Field(None, description="with lon: where the phone was")
    lon: Longitude | None = None
    accuracy_m: float | None = Field(None, ge=0, le=100_000, description="the phone's GPS error")


class UploadForActivity(_UploadForm):
    """A file proving a TRK activity."""

    activity_id: RecordId


class UploadForAttendance(_UploadForm):
    """A selfie for an attendance day's check-in or check-out."""

    attendance_id: RecordId
    check: Literal["in", "out"]


class UploadForDay(_UploadForm):
    """A day's photo with no activity yet: the TRK day draft proposes activities from them."""

    date: date
    teacher_id: RecordId | None = Field(None, description="admins name the teacher")


class UploadForMonth(_UploadForm):
    """A monthly teaching video."""

    month: Month
    requirement: Requirement
    teacher_id: RecordId | None = Field(None, description="admins name the teacher")


class UploadAnswer(_UploadForm):
    """Another proof for an item a reviewer asked for again (``ask_again``): the new item
    proves what that one did."""

    answers: RecordId = Field(description="the item asked for again")


UPLOAD_FORMS: tuple[type[_UploadForm], ...] = (
    UploadForActivity,
    UploadForAttendance,
    UploadForDay,
    UploadForMonth,
    UploadAnswer,
)
"""What a multipart upload can prove: exactly one of these forms (see POST /evidence)."""


class LinkIn(BaseModel):
    """A YouTube link for a monthly requirement."""

    url: Annotated[Text, Field(min_length=1, max_length=500)]
    month: Month
    requirement: Requirement
    teacher_id: RecordId | None = Field(None, description="admins name the teacher")
