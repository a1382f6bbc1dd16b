"""Receipts by day: what a phone may delete, with the names and times to find it by."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import DbDep, PrincipalDep, ServicesDep
from api.pagination import Paging, PagingDep
from api.routes.evidence import Receipt, receipt_of
from api.schemas import Page
from api.scoping import scoped
from storage.models import Activity, Attendance, Evidence

router = APIRouter(prefix="/api/v1", tags=["evidence"])

#: the day an item belongs to: when it was taken, else the day it was sent for, else the
#: day of the activity or attendance check it proves (monthly videos may have none)
item_day = func.coalesce(
    Evidence.local_date, Evidence.claimed_date, Activity.date, Attendance.date
).label("day")


class DayReceipt(Receipt):
    """A receipt with what the teacher finds the file by in the phone's gallery."""

    day: date | None
    kind: str
    client_filename: str | None
    captured_at: datetime | None


def receipts_query(who: Principal) -> Select[Any]:
    """Items with a receipt that the caller may see, with their day: newest day first, then
    in the order they were taken."""
    visible = scoped(select(Evidence), who, Evidence.teacher_id)
    return (
        visible.add_columns(item_day)
        .outerjoin(Activity, Activity.id == Evidence.activity_id)
        .outerjoin(Attendance, Attendance.id == Evidence.attendance_id)
        .where(Evidence.has_receipt)
        .order_by(
            item_day.desc().nulls_last(),
            Evidence.captured_at.asc().nulls_last(),
            Evidence.id,
        )
    )


def list_day_receipts(
    db: Session,
    who: Principal,
    backend: str,
    paging: Paging,
    teacher_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Page[DayReceipt]:
    """One page of the caller's receipts (``teacher_id`` narrows them), by the items' days."""
    query = receipts_query(who)
    if date_from is not None:
        query = query.where(item_day >= date_from)
    if date_to is not None:
        query = query.where(item_day <= date_to)
    if teacher_id is not None:
        query = query.where(Evidence.teacher_id == teacher_id)
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.execute(query.limit(paging.limit).offset(paging.offset)).all()
    return Page[DayReceipt](
        items=[_day_receipt(item, day, backend) for item, day in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


def _day_receipt(item: Evidence, day: date | None, backend: str) -> DayReceipt:
    return DayReceipt(
        **receipt_of(item, backend).model_dump(),
        day=day,
        kind=item.kind,
        client_filename=item.client_filename,
        captured_at=item.captured_at,
    )


@router.get("/receipts", response_model=Page[DayReceipt])
def list_receipts(
    db: DbDep,
    who: PrincipalDep,
    services: ServicesDep,
    paging: PagingDep,
    teacher_id: Annotated[int | None, Query()] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
) -> Page[DayReceipt]:
    """Every item whose original is safely archived, by day: the phone may delete these.

    An item appears here exactly when ``GET /evidence/{id}/receipt`` answers 200. Each
    carries its day (when it was taken, else the day it proves), its file name as the
    phone sent it and its capture time, to find it in the gallery; ``from``/``to`` filter
    on that day (inclusive).
    """
    return list_day_receipts(db, who, services.store.name, paging, teacher_id, date_from, date_to)
