"""The teacher's pages under ``/my``: today's checks, a day's batch upload, the TRK day drafted
from its photos, the monthly videos, receipts ("safe to delete") and their items' flags and
decisions, and the installable app that takes files shared from the phone's gallery. Every
upload goes through the API's own intake (tus at ``/api/v1/uploads``)."""

from __future__ import annotations

from fastapi import APIRouter

from api.web.teacher import day, evidence, receipts, share, today, uploads

router = APIRouter(include_in_schema=False)
for _module in (today, uploads, day, receipts, evidence, share):
    router.include_router(_module.router, prefix="/my")
