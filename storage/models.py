"""The records: SQLAlchemy 2 models. Times are stored in UTC; dates and times of day are local."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    and_,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql import ColumnElement


def utcnow() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC; SQLite returns naive values, this fixes them."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every model."""

    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core statements built once (``__table__`` is typed loosely)."""
    return cast(Table, model.__table__)


class School(Base):
    """A school: its geofence and time zone."""

    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float, default=150.0)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta")
    check_in_by: Mapped[time] = mapped_column(Time, default=time(7, 0))
    check_out_from: Mapped[time] = mapped_column(Time, default=time(15, 30))
    #: calendar entries (Fridays, Ramadan, holidays) as data: see evidence.records.HoursOverride
    calendar: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: the first day Bukti counts for the school's teachers; None counts from always
    start_date: Mapped[date | None] = mapped_column(Date)
    #: deactivated instead of deleted: records hang on it
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Teacher(Base):
    """A civil-servant teacher (ASN), identified by NIP."""

    __tablename__ = "teachers"

    id: Mapped[int] = mapped_column(primary_key=True)
    nip: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    youtube_channel_id: Mapped[str | None] = mapped_column(String(64))
    #: the first day Bukti counts for the teacher (joined, moved here); None counts from always
    start_date: Mapped[date | None] = mapped_column(Date)
    #: deactivated instead of deleted (left the service, retired): owes nothing from then on
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    school: Mapped[School] = relationship()


class User(Base):
    """Someone who calls the API with bearer tokens (see ApiToken) or signs in on the pages
    with a password; deactivated, never deleted."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role in ('teacher', 'reviewer', 'admin')", name="ck_users_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: what a person types to sign in: a teacher's NIP, a reviewer's or admin's user name
    login: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: an argon2id hash (PHC string); None for machine users, who only hold a token
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: wrong passwords in a row, and until when the account is slowed down after too many
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()


class WebSession(Base):
    """A person signed in on the pages: only a hash of the cookie's value is kept."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: the synchroniser token every form and unsafe request of this session must carry
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class ApiToken(Base):
    """One bearer token of a user; only its SHA-256 is kept. A user may hold several.

    A revoked token stays as a row (``revoked_at``), so it can never be brought back;
    ``last_used_at`` is written at most once a minute per token (see api.auth).
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class Activity(Base):
    """One TRK activity of a teacher's day, in the school's local time."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_teacher_date", "teacher_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"))
    date: Mapped[date] = mapped_column(Date)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Attendance(Base):
    """A teacher's K-Mob day: status, check-in and check-out, and for DL a destination."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("teacher_id", "date", name="uq_attendance_teacher_date"),
        CheckConstraint(
            "status in ('WFO', 'WFH', 'DL', 'CUTI', 'SAKIT', 'IZIN')", name="ck_attendance_status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"))
    date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8))
    check_in: Mapped[time | None] = mapped_column(Time)
    check_out: Mapped[time | None] = mapped_column(Time)
    destination_name: Mapped[str | None] = mapped_column(String(200))
    destination_lat: Mapped[float | None] = mapped_column(Float)
    destination_lon: Mapped[float | None] = mapped_column(Float)
    destination_radius_m: Mapped[float | None] = mapped_column(Float)
    #: the DL destination's IANA zone: the day's typed times are read in it
    destination_timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Evidence(Base):
    """One uploaded item: its status, facts, hashes, sizes, archive keys and outcome."""

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("uploaded_by", "idempotency_key", name="uq_evidence_idempotency"),
        Index("ix_evidence_teacher_status", "teacher_id", "status"),
        # the history verification reads: a photo's time neighbours and its same spot
        Index("ix_evidence_teacher_captured", "teacher_id", "captured_at"),
        Index("ix_evidence_teacher_lat", "teacher_id", "lat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"), index=True)
    attendance_id: Mapped[int | None] = mapped_column(ForeignKey("attendance.id"), index=True)
    #: which check of the attendance day a selfie proves: "in" or "out"
    check: Mapped[str | None] = mapped_column(String(3))
    #: the day a teacher says an unattached item belongs to (for the TRK day draft)
    claimed_date: Mapped[date | None] = mapped_column(Date)
    client_lat: Mapped[float | None] = mapped_column(Float)
    client_lon: Mapped[float | None] = mapped_column(Float)
    client_accuracy_m: Mapped[float | None] = mapped_column(Float)
    #: resolved by verification: when and where the item was taken (for history checks)
    captured_at: Mapped[datetime | None] = mapped_column(index=True)
    local_date: Mapped[date | None] = mapped_column(Date)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    mime: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    client_filename: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    perceptual: Mapped[dict[str, Any] | None] = mapped_column()
    facts: Mapped[dict[str, Any] | None] = mapped_column()
    original_bytes: Mapped[int] = mapped_column(BigInteger)
    stored_bytes: Mapped[int | None] = mapped_column(BigInteger)
    original_key: Mapped[str | None] = mapped_column(String(512))
    rendition_key: Mapped[str | None] = mapped_column(String(512))
    rendition_bytes: Mapped[int | None] = mapped_column(BigInteger)
    #: a small look at the item: a photo's thumbnail, a video's poster frame, a document's first page
    preview_key: Mapped[str | None] = mapped_column(String(512))
    #: a monthly requirement: "YYYY-MM" and "learning" | "problem_solving"
    month: Mapped[str | None] = mapped_column(String(7))
    requirement: Mapped[str | None] = mapped_column(String(20))
    #: a YouTube link's normalised video id and the link as the teacher sent it
    video_id: Mapped[str | None] = mapped_column(String(11), index=True)
    source_url: Mapped[str | None] = mapped_column(String(500))
    archived_at: Mapped[datetime | None] = mapped_column()
    #: the item a reviewer asked to replace ("ask again") that this one answers
    answers_evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    #: who processes the item until when (see workers.leases); None when no job holds it
    lease_until: Mapped[datetime | None] = mapped_column()
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    #: attempts in the current round, and when the item is due again (backoff, auto retry)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    #: the class of the last failure: storage | database | network | media | internal
    failure_reason: Mapped[str | None] = mapped_column(String(16))
    auto_retries: Mapped[int] = mapped_column(Integer, default=0)

    flags: Mapped[list[EvidenceFlag]] = relationship(
        cascade="all, delete-orphan",
        order_by="EvidenceFlag.id",
        lazy="selectin",
        foreign_keys="EvidenceFlag.evidence_id",
    )
    reviews: Mapped[list[Review]] = relationship(order_by="Review.id", lazy="selectin")
    # not eagerly joined: a joined load cannot be locked FOR UPDATE on PostgreSQL
    teacher: Mapped[Teacher] = relationship()

    @hybrid_property
    def has_receipt(self) -> bool:
        """True once the original is in the archive: the phone may delete its copy.

        The one definition of "safe to delete": the receipt route, the receipts list and
        the teacher's page all read it (in Python and, as a column expression, in SQL).
        """
        return self.original_key is not None and self.archived_at is not None

    @has_receipt.inplace.expression
    @classmethod
    def _has_receipt_expression(cls) -> ColumnElement[bool]:
        return and_(cls.original_key.is_not(None), cls.archived_at.is_not(None))


class FinishedUpload(Base):
    """A resumable upload that became an item, kept as long as an unfinished one would be.

    A phone that sent the last bytes but never got the answer asks for the upload again:
    this row names the item it became, so the bytes are not sent again as a second item.
    """

    __tablename__ = "finished_uploads"

    #: the tus upload id (its owner's user id, a dash, 32 hex digits)
    upload_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    evidence_id: Mapped[int] = mapped_column(
        ForeignKey("evidence.id", ondelete="CASCADE"), index=True
    )
    upload_length: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class EvidenceFlag(Base):
    """A flag raised on an item; replaced as a whole when the item is verified again."""

    __tablename__ = "evidence_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[str] = mapped_column(String(8))
    detail: Mapped[str] = mapped_column(Text)
    related_evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    #: the detail as message ids and values (evidence.flags.Phrase), for the pages to word in
    #: the reader's language; None on flags raised before they were kept
    detail_phrases: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON(none_as_null=True), default=None
    )


class EvidenceEvent(Base):
    """The append-only log of what happened to an item: received, each step, retries, outcome."""

    __tablename__ = "evidence_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    step: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class PerceptualHashRow(Base):
    """A photo's near-duplicate hashes, cut into indexed bands (storage/near_index.py).

    On PostgreSQL each band's index also holds the item and its three hashes (``INCLUDE``):
    a lookup reads the rows sharing a band value, side by side in the index's leaves, and
    filters them there without visiting the table (an index-only scan). SQLite ignores
    ``INCLUDE`` and indexes the band alone.
    """

    __tablename__ = "perceptual_hashes"
    __table_args__ = tuple(
        Index(
            f"ix_perceptual_hashes_band_{band}",
            f"band_{band}",
            postgresql_include=["evidence_id", "phash", "dhash", "dhash_vertical"],
        )
        for band in range(9)
    )

    evidence_id: Mapped[int] = mapped_column(
        ForeignKey("evidence.id"), primary_key=True, autoincrement=False
    )
    #: the 64-bit hashes as signed BIGINTs (the same bits)
    phash: Mapped[int] = mapped_column(BigInteger)
    dhash: Mapped[int] = mapped_column(BigInteger)
    dhash_vertical: Mapped[int] = mapped_column(BigInteger)
    #: 21, 21 and 22 bits of each hash in turn, most significant first
    band_0: Mapped[int]
    band_1: Mapped[int]
    band_2: Mapped[int]
    band_3: Mapped[int]
    band_4: Mapped[int]
    band_5: Mapped[int]
    band_6: Mapped[int]
    band_7: Mapped[int]
    band_8: Mapped[int]


class SignatureKeyRow(Base):
    """One key of a document's or a video's near-duplicate signature (storage/signature_index.py).

    The primary key leads with the key: a lookup is one B-tree probe per key it asks for.
    """

    __tablename__ = "signature_keys"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    evidence_id: Mapped[int] = mapped_column(
        ForeignKey("evidence.id"), primary_key=True, autoincrement=False, index=True
    )


class MonthlyFlag(Base):
    """A flag on a teacher's month (``missing_monthly_video``), raised when the month closes."""

    __tablename__ = "monthly_flags"
    __table_args__ = (
        UniqueConstraint("teacher_id", "month", "code", "requirement", name="uq_monthly_flag"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))
    requirement: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8))
    detail: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(Base):
    """A reviewer's decision on an item, beside its status; a new decision is a new row."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(
            "decision in ('approved', 'rejected', 'ask_again')", name="ck_reviews_decision"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))
    #: one of a short list (evidence.review.ReasonCode); ``reason`` holds the free text
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One link of the audit chain (see storage.audit): who did what, when, old and new values."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column()
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(100))
    evidence_id: Mapped[int | None] = mapped_column(Integer, index=True)
    school_id: Mapped[int | None] = mapped_column(Integer, index=True)
    data: Mapped[dict[str, Any]] = mapped_column()
    prev_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's single head row: the last entry's number and digest (taken to append)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))


class ArchiveObject(Base):
    """One object the archive holds (or held): identical bytes are one object, whatever
    number of items use it (see :class:`EvidenceObject` and storage.objects)."""

    __tablename__ = "archive_objects"
    __table_args__ = (
        CheckConstraint(
            "klass in ('original', 'rendition', 'sanitised', 'preview', 'poster')",
            name="ck_archive_objects_klass",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    #: original | rendition | sanitised (a document's cleaned copy) | preview | poster
    klass: Mapped[str] = mapped_column(String(16), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when its bytes were last read back and matched (at the write, then by scrubs)
    verified_at: Mapped[datetime | None] = mapped_column()
    #: what the last scrub found wrong ("missing", "altered"); None when it was intact
    damage: Mapped[str | None] = mapped_column(String(200))
    #: when the archive stopped holding it (no item uses it any more); None while held
    removed_at: Mapped[datetime | None] = mapped_column(index=True)
    #: where a removed object waits until ``trash_until``, so a mistake can be undone
    trash_key: Mapped[str | None] = mapped_column(String(512))
    trash_until: Mapped[datetime | None] = mapped_column()
    #: S3 Object Lock applied to it: mode and until when; legal hold flag mirrored
    lock_mode: Mapped[str | None] = mapped_column(String(16))
    locked_until: Mapped[datetime | None] = mapped_column()
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class EvidenceObject(Base):
    """An item's use of an archived object; released (not deleted) when retention ends it."""

    __tablename__ = "evidence_objects"
    __table_args__ = (
        UniqueConstraint("evidence_id", "object_id", name="uq_evidence_objects"),
        Index("ix_evidence_objects_object", "object_id", "released_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"), index=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("archive_objects.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column()
    #: the retention run that released it, when one did
    released_by_run_id: Mapped[int | None] = mapped_column(Integer)

    object: Mapped[ArchiveObject] = relationship(lazy="joined")


class RetentionPolicy(Base):
    """One rule of a retention policy version: how long an outcome's copies are kept.

    The policy in force is every row of the highest version; an edit writes a new version,
    so what any past run applied stays on record. ``None`` keeps for ever.
    """

    __tablename__ = "retention_policies"
    __table_args__ = (
        UniqueConstraint("version", "kind", "outcome", name="uq_retention_policy_rule"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    keep_original_days: Mapped[int | None] = mapped_column(Integer)
    keep_copies_years: Mapped[int | None] = mapped_column(Integer)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class LegalHold(Base):
    """A legal hold: while not released, nothing it covers is removed by retention."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        CheckConstraint(
            "scope in ('evidence', 'teacher', 'school', 'dates')", name="ck_legal_holds_scope"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: evidence | teacher | school | dates (every item of those days, optionally one school's)
    scope: Mapped[str] = mapped_column(String(16))
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[datetime | None] = mapped_column(index=True)
    release_reason: Mapped[str | None] = mapped_column(Text)


class RetentionRun(Base):
    """A retention run: planned as a dry run (its removals are the report), then applied
    once confirmed; applying again continues where it stopped."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: planned -> applying -> applied; or cancelled
    status: Mapped[str] = mapped_column(String(16), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    policy_version: Mapped[int] = mapped_column(Integer)
    planned_by: Mapped[str] = mapped_column(String(200))
    planned_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    confirmed_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    #: what was held back when planning: {"held_items": n, "held_bytes": n}
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RetentionRemoval(Base):
    """One line of a run's report: an item's copy that the policy lets go, and why."""

    __tablename__ = "retention_removals"
    __table_args__ = (Index("ix_retention_removals_run", "run_id", "done_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("retention_runs.id"))
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"))
    object_id: Mapped[int] = mapped_column(ForeignKey("archive_objects.id"))
    klass: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column()
    #: removed | shared (another item still uses the bytes) | held | gone (already released)
    outcome: Mapped[str | None] = mapped_column(String(16))
