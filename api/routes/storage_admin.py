"""The storage admin's API: usage and savings, retention policies and runs, legal holds,
restores and scrubs. Every route needs the admin role."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import AdminDep, DbDep
from storage.usage import DIMENSIONS, Dimension, usage

router = APIRouter(prefix="/api/v1/storage", tags=["storage"])


class UsageOut(BaseModel):
    """Usage and savings by one dimension, with the total over every item."""

    by: str
    rows: list[dict[str, Any]]
    total: dict[str, Any]


@router.get("/usage", response_model=UsageOut)
def get_usage(
    db: DbDep,
    who: AdminDep,
    by: Annotated[Dimension, Query(description=f"one of {', '.join(DIMENSIONS)}")] = "school",
) -> UsageOut:
    """Bytes received, held, saved by deduplication and by renditions, and removed, per
    school, teacher, kind, month or object class."""
    rows, total = usage(db, by)
    return UsageOut(by=by, rows=[row.to_json() for row in rows], total=total.to_json())
