"""TRK activities: teachers log their own, reviewers read their school's."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import select

from api.deps import DbDep, PrincipalDep
from api.pagination import PagingDep, paginate
from api.reverify import queue_reverification
from api.schemas import ActivityIn, ActivityOut, ActivityUpdate, Category, Page, RecordId
from api.scoping import in_range, scoped, visible_activity, visible_teacher
from bukti.errors import InvalidRequestError
from storage.models import Activity, Evidence
from storage.repositories import items_of_activity

router = APIRouter(prefix="/api/v1", tags=["activities"])


def activity_out(activity: Activity) -> ActivityOut:
    """The API view of an activity, with its length in minutes."""
    start = datetime.combine(activity.date, activity.start)
    end = datetime.combine(activity.date, activity.end)
    return ActivityOut(
        id=activity.id,
        teacher_id=activity.teacher_id,
        date=activity.date,
        start=activity.start,
        end=activity.end,
        title=activity.title,
        category=Category(activity.category) if activity.category else None,
        minutes=int((end - start).total_seconds() // 60),
        created_at=activity.created_at,
    )


@router.post("/activities", status_code=201, response_model=ActivityOut)
def create_activity(body: ActivityIn, db: DbDep, who: PrincipalDep) -> ActivityOut:
    """Log an activity: a teacher for themselves, or an admin for anyone.

    No item is verified again: items name the activity they prove when uploaded (or are
    attached through the day draft, which verifies them), so a new activity has none yet; the
    day's record flags (target, overlaps, plausible minutes) are computed when the day is read.
    """
    teacher = visible_teacher(db, who, body.teacher_id)
    if not who.can_write_teacher(teacher.id):
        raise HTTPException(403, "only the teacher themselves or an admin logs activities")
    activity = Activity(
        teacher_id=teacher.id,
        date=body.date,
        start=body.start,
        end=body.end,
        title=body.title,
        category=body.category.value if body.category else None,
    )
    db.add(activity)
    db.flush()
    return activity_out(activity)


@router.patch("/activities/{activity_id}", response_model=ActivityOut)
def update_activity(
    activity_id: RecordId, body: ActivityUpdate, request: Request, db: DbDep, who: PrincipalDep
) -> ActivityOut:
    """Change an activity's times, title or category; its evidence is verified again."""
    activity = visible_activity(db, who, activity_id)
    if not who.can_write_teacher(activity.teacher_id):
        raise HTTPException(403, "only the teacher themselves or an admin edits activities")
    changes = body.model_dump(exclude_unset=True)
    start = changes.get("start", activity.start)
    end = changes.get("end", activity.end)
    if end <= start:
        raise InvalidRequestError("end must be after start")
    activity.start, activity.end = start, end
    if "title" in changes and body.title is not None:
        activity.title = body.title
    if "category" in changes:
        activity.category = body.category.value if body.category else None
    db.flush()
    queue_reverification(request, db, items_of_activity(db, activity.id))
    return activity_out(activity)


@router.delete("/activities/{activity_id}", status_code=204)
def delete_activity(
    activity_id: RecordId, request: Request, db: DbDep, who: PrincipalDep
) -> Response:
    """Remove an activity; its items stay as the day's unattached items, verified again."""
    activity = visible_activity(db, who, activity_id)
    if not who.can_write_teacher(activity.teacher_id):
        raise HTTPException(403, "only the teacher themselves or an admin removes activities")
    affected = items_of_activity(db, activity.id)
    for item in db.scalars(select(Evidence).where(Evidence.activity_id == activity.id)):
        # back to the day's unattached items: the day draft can attach them again
        item.activity_id, item.claimed_date = None, activity.date
    db.flush()
    db.delete(activity)
    db.flush()
    queue_reverification(request, db, affected)
    return Response(status_code=204)


@router.get("/activities", response_model=Page[ActivityOut])
def list_activities(
    db: DbDep,
    who: PrincipalDep,
    paging: PagingDep,
    teacher_id: Annotated[RecordId | None, Query()] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
) -> Page[ActivityOut]:
    """Activities the caller may see, by teacher and date range (inclusive)."""
    query = select(Activity).order_by(Activity.date, Activity.start, Activity.id)
    query = in_range(scoped(query, who, Activity.teacher_id), Activity.date, date_from, date_to)
    if teacher_id is not None:
        query = query.where(Activity.teacher_id == teacher_id)
    return paginate(db, query, paging, activity_out)


@router.get("/activities/{activity_id}", response_model=ActivityOut)
def get_activity(activity_id: RecordId, db: DbDep, who: PrincipalDep) -> ActivityOut:
    """One activity, if the caller may see its teacher."""
    return activity_out(visible_activity(db, who, activity_id))
