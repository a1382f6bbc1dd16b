"""The review queue and bulk approval (reviewers of a school, admins)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from api.deps import DbDep, PrincipalDep
from api.evidence_views import review_out
from api.flag_views import render_flags
from api.pagination import PagingDep
from api.review import QueueFilter, approve_all, load_queue
from api.schemas import FlagOut, ReviewOut
from api.web.i18n import Translator
from evidence.flags import Code, Severity
from evidence.status import Kind, Status

router = APIRouter(prefix="/api/v1/review", tags=["review"])


def _blank_is_none(value: Any) -> Any:
    """A form's empty field means "any", as leaving the parameter out does."""
    return None if value == "" else value


Blank = BeforeValidator(_blank_is_none)


class QueueParams(BaseModel):
    """The queue's filters as the query string gives them (the API's and the page's)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    school_id: Annotated[int | None, Blank] = None
    teacher_id: Annotated[int | None, Blank] = None
    flag: Annotated[Code | None, Blank, Field(description="items with this flag")] = None
    severity: Annotated[Severity | None, Blank, Field(description="the item's worst flag")] = None
    kind: Annotated[Kind | None, Blank] = None
    day_from: Annotated[date | None, Blank, Field(alias="from", description="the item's day")] = (
        None
    )
    day_to: Annotated[date | None, Blank, Field(alias="to")] = None
    status: Literal["flagged", "accepted", "any"] = Field(
        "flagged", description="any: accepted or flagged"
    )
    decided: Literal["no", "yes", "any"] = "no"

    def to_filter(self) -> QueueFilter:
        """The filter these parameters ask for."""
        return QueueFilter(
            school_id=self.school_id,
            teacher_id=self.teacher_id,
            flag=self.flag.value if self.flag else None,
            severity=self.severity,
            kind=self.kind.value if self.kind else None,
            day_from=self.day_from,
            day_to=self.day_to,
            status=None if self.status == "any" else Status(self.status),
            decided={"no": False, "yes": True, "any": None}[self.decided],
        )

    @classmethod
    def from_query_string(cls, query: str) -> QueueParams:
        """Parameters carried in a query string; what does not parse is left at its default."""
        values = dict(parse_qsl(query))
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            return cls.model_validate({k: v for k, v in values.items() if k not in bad})

    def query_string(self) -> str:
        """These parameters as a query string, without the defaults."""
        values = self.model_dump(by_alias=True, exclude_defaults=True, mode="json")
        return urlencode({k: v for k, v in values.items() if v is not None})


def get_queue_filter(params: Annotated[QueueParams, Query()]) -> QueueFilter:
    """The queue's filters from the query string."""
    return params.to_filter()


QueueFilterDep = Annotated[QueueFilter, Depends(get_queue_filter)]


class QueueItemOut(BaseModel):
    """An item in the queue."""

    id: int
    teacher_id: int
    teacher_name: str
    nip: str
    kind: str
    status: str
    day: date | None = Field(description="the day the item is evidence for")
    received_at: datetime
    top_severity: str | None
    flags: list[FlagOut]
    decision: ReviewOut | None


class QueuePage(BaseModel):
    """One page of the queue, worst flag first then oldest, with counts per flag code."""

    items: list[QueueItemOut]
    total: int
    limit: int
    offset: int
    counts: dict[str, int] = Field(description="items of the filtered set per flag code")


@router.get("/queue", response_model=QueuePage)
def review_queue(
    db: DbDep, who: PrincipalDep, wanted: QueueFilterDep, paging: PagingDep
) -> QueuePage:
    """Items needing a decision (by default: flagged, undecided) in the caller's school."""
    queue = load_queue(db, who, wanted, paging.limit, paging.offset)
    english = Translator("en")
    return QueuePage(
        items=[
            QueueItemOut(
                id=row.item.id,
                teacher_id=row.teacher.id,
                teacher_name=row.teacher.name,
                nip=row.teacher.nip,
                kind=row.item.kind,
                status=row.item.status,
                day=row.day,
                received_at=row.item.received_at,
                top_severity=row.top_severity.value if row.top_severity else None,
                flags=render_flags(db, row.item.flags, who, english, as_stored=True),
                decision=review_out(row.decision) if row.decision else None,
            )
            for row in queue.rows
        ],
        total=queue.total,
        limit=paging.limit,
        offset=paging.offset,
        counts=queue.counts,
    )


class BulkApproval(BaseModel):
    """Approve the undecided items of the filtered set, whose size the reviewer confirmed."""

    expected: int = Field(ge=1, description="how many items the reviewer saw and confirmed")


class BulkApproved(BaseModel):
    """How many items were approved."""

    approved: int


@router.post("/approve", response_model=BulkApproved)
def approve_filtered(
    body: BulkApproval, db: DbDep, who: PrincipalDep, wanted: QueueFilterDep
) -> BulkApproved:
    """Approve every undecided item matching the query's filters; 409 if their number is no
    longer ``expected`` (someone decided meanwhile), nothing approved then."""
    return BulkApproved(approved=approve_all(db, who, wanted, body.expected))
