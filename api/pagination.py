"""Limit/offset pagination shared by every list route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.schemas import Page

M = TypeVar("M", bound=BaseModel)


class Paging(BaseModel):
    """Which slice of a list was asked for."""

    limit: int
    offset: int


def get_paging(
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page")] = 50,
    offset: Annotated[int, Query(ge=0, description="Items to skip")] = 0,
) -> Paging:
    """Paging from the query string."""
    return Paging(limit=limit, offset=offset)


PagingDep = Annotated[Paging, Depends(get_paging)]


def paginate(
    session: Session, query: Select[Any], paging: Paging, convert: Callable[[Any], M]
) -> Page[M]:
    """Run ``query`` for one page, convert each row, and count the whole."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.limit(paging.limit).offset(paging.offset)).all()
    return Page[M](
        items=[convert(row) for row in rows],
        total=total or 0,
        limit=paging.limit,
        offset=paging.offset,
    )
