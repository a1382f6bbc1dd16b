"""What the phone may delete: receipts by day, as a checklist of file names and times.

The list is the API's (``GET /api/v1/receipts``, called in-process), so an item appears
here exactly when its receipt says it is safe to delete. The page cannot delete anything
on the phone: it says which files the teacher may delete from the gallery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from api.deps import DbDep, ServicesDep
from api.pagination import Paging
from api.routes.receipts import DayReceipt, list_day_receipts
from api.web.teacher.context import TeacherDep, render_page, teacher_view
from evidence.status import Kind, Status
from storage.models import Evidence

router = APIRouter()

PAGE_SIZE = 200


@dataclass(frozen=True)
class ReceiptDay:
    """One day of receipts."""

    day: date | None
    receipts: list[DayReceipt]

    @property
    def size_bytes(self) -> int:
        """What deleting the day's files frees on the phone."""
        return sum(receipt.original_bytes for receipt in self.receipts)


def by_day(receipts: list[DayReceipt]) -> list[ReceiptDay]:
    """Receipts grouped by their day, in the order they came."""
    days: list[ReceiptDay] = []
    for receipt in receipts:
        if not days or days[-1].day != receipt.day:
            days.append(ReceiptDay(receipt.day, []))
        days[-1].receipts.append(receipt)
    return days


@router.get("/receipts")
def receipts_page(
    request: Request,
    db: DbDep,
    services: ServicesDep,
    session: TeacherDep,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Archived and safe to delete, by day, with a checklist for the gallery."""
    view = teacher_view(db, session)
    page = list_day_receipts(
        db, session.principal, services.store.name, Paging(limit=PAGE_SIZE, offset=offset)
    )
    # items on their way to the archive: the teacher keeps these for now
    waiting = db.scalar(
        select(func.count(Evidence.id)).where(
            Evidence.teacher_id == view.teacher.id,
            Evidence.kind != Kind.YOUTUBE.value,
            ~Evidence.has_receipt,
            Evidence.status.not_in([Status.REJECTED.value]),
        )
    )
    return render_page(
        request,
        "teacher/receipts.html",
        session,
        tab="receipts",
        view=view,
        days=by_day(page.items),
        page=page,
        waiting=waiting or 0,
        page_size=PAGE_SIZE,
    )
