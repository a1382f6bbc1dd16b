"""Resumable uploads (tus 1.0) for large videos on weak mobile networks.

A client creates an upload with ``POST /api/v1/uploads`` (``Upload-Length`` and
``Upload-Metadata`` naming what the file proves, as the multipart form does: ``activity_id``;
``attendance_id`` and ``check``; ``date``; or ``month`` and ``requirement``; plus
``filename`` and ``filetype``), sends the bytes with ``PATCH`` and, after an interruption, asks ``HEAD`` for
the offset to resume from. When the last byte arrives the file becomes an item through the
same intake as a multipart upload (:mod:`api.intake`), and the answer carries
``Bukti-Evidence-Id``.

Upload ids start with their owner's user id and the guard below checks it on every request
before any byte is written: another user's upload answers 404.

A finished upload stays answerable for as long as an unfinished one is kept
(``DAYS_TO_KEEP``): a phone that sent the last bytes but lost the answer asks ``HEAD`` again
and hears that the upload is complete (``Upload-Offset`` equal to ``Upload-Length``) and
which item it became (``Bukti-Evidence-Id``), so tus-js-client finishes without sending the
file again; a ``PATCH`` on it never makes a second item. The record is a database row
(``finished_uploads``) written in the transaction that inserts the item, so it exists exactly
when the item does, survives a restart and is seen by every API process. While the last
bytes are being checked and recorded, a lock held by the finishing request makes ``HEAD``
and ``PATCH`` answer 423 (ask again shortly) rather than "not found"; a ``HEAD`` on an upload
whose every byte arrived but whose finishing request died finishes it.

An upload left unfinished expires ``DAYS_TO_KEEP`` days after its creation; the API's sweep
then removes its files (:mod:`api.upload_cleanup`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tuspyserver import create_tus_router

from api import intake
from api.auth import Principal
from api.deps import PrincipalDep, get_services
from api.problems import problem
from api.tus_files import DAYS_TO_KEEP, STAGED_TUS_PREFIX, finish_lock, try_lock, tus_dir
from api.upload import ReceivedUpload
from bukti.bootstrap import Services
from bukti.errors import (
    ConflictError,
    InvalidRequestError,
    PayloadTooLargeError,
    UnsupportedMediaError,
)
from evidence.sniff import HEAD_BYTES, sniff
from evidence.status import Role
from storage.db import transaction
from storage.integrity import sha256_file
from storage.models import FinishedUpload, utcnow

log = logging.getLogger(__name__)

PREFIX = "/api/v1/uploads"
TUS_VERSION = "1.0.0"
#: the ids `_file_dep` makes; only these can have finished
_UPLOAD_ID = re.compile(r"[0-9]+-[0-9a-f]{32}")
#: how long a request that completes an upload waits for another one finishing it
FINISH_WAIT_S = 120.0
_TARGET_FIELDS = (
    "activity_id",
    "attendance_id",
    "check",
    "date",
    "month",
    "requirement",
    "teacher_id",
    "lat",
    "lon",
    "accuracy_m",
    "answers",
)


def _owner_of(upload_id: str) -> str:
    return upload_id.split("-", 1)[0]


def tus_guard(request: Request, who: PrincipalDep) -> Principal:
    """Authenticate every tus request and keep each upload to the user who created it."""
    if who.role is Role.REVIEWER:
        raise HTTPException(403, "reviewers do not upload evidence")
    upload_id = request.path_params.get("uuid")
    if upload_id is not None and _owner_of(str(upload_id)) != str(who.user_id):
        raise HTTPException(404, "upload not found")
    if "upload-concat" in request.headers:
        # concatenation names other uploads by id in a header the path check cannot see
        raise HTTPException(400, "concatenated uploads are not supported")
    if request.method == "POST" and int(request.headers.get("content-length") or 0) > 0:
        # creation-with-upload would be read into memory whole: data goes with PATCH
        raise HTTPException(400, "send the file's bytes with PATCH, not with the creating POST")
    return who


class _Answered(Exception):
    """Raised by a dependency that has the whole answer, so tuspyserver's route never runs."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True)
class Finished:
    """What a finished upload became."""

    evidence_id: int
    upload_length: int
    expires_at: datetime


def finished_upload(services: Services, upload_id: str) -> Finished | None:
    """The item an upload became, if its last bytes arrived and were recorded."""
    with transaction(services.sessions) as db:
        row = db.get(FinishedUpload, upload_id)
        if row is None:
            return None
        return Finished(row.evidence_id, row.upload_length, row.expires_at)


def _remember(upload_id: str, upload_length: int) -> Callable[[Session, int], None]:
    """Write, with the item, which upload it came from; forget the expired ones."""

    def also(db: Session, evidence_id: int) -> None:
        now = utcnow()
        db.execute(delete(FinishedUpload).where(FinishedUpload.expires_at < now))
        db.add(
            FinishedUpload(
                upload_id=upload_id,
                evidence_id=evidence_id,
                upload_length=upload_length,
                expires_at=now + timedelta(days=DAYS_TO_KEEP),
            )
        )

    return also


def finished_answer(
    method: str, finished: Finished, request_headers: Mapping[str, str]
) -> Response:
    """tus's answer for a complete upload, naming its item: ``HEAD`` says the offset is the
    length; a ``PATCH`` with no bytes at that offset is acknowledged, any other is a 409."""
    length = str(finished.upload_length)
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": length,
        "Bukti-Evidence-Id": str(finished.evidence_id),
        "Cache-Control": "no-store",
    }
    if method == "HEAD":
        return Response(status_code=200, headers={**headers, "Upload-Length": length})
    offset = request_headers.get("upload-offset")
    sends_bytes = request_headers.get("content-length", "0").strip() not in ("", "0")
    if offset == length and not sends_bytes:
        return Response(status_code=204, headers=headers)
    answer = problem(
        409,
        f"this upload is already complete (item {finished.evidence_id}): "
        f"its offset is {length}, it takes no more bytes",
    )
    answer.headers.update(headers)
    return answer


def _finish_lock_path(services: Services, upload_id: str) -> Path:
    return finish_lock(_files_dir(services), upload_id)


@contextlib.asynccontextmanager
async def _finishing(path: Path) -> AsyncIterator[None]:
    """Hold an upload's finish lock, waiting (without blocking the loop) for its holder."""
    waited = 0.0
    while True:
        with try_lock(path) as held:
            if held:
                yield
                return
        if waited >= FINISH_WAIT_S:
            raise _being_finished()
        await asyncio.sleep(0.05)
        waited += 0.05


def _being_finished() -> HTTPException:
    return HTTPException(
        423,
        "the upload's last bytes are being checked; ask for it again in a moment",
        headers={"Retry-After": "1", "Tus-Resumable": TUS_VERSION},
    )


async def finished_guard(
    request: Request, who: Principal = Depends(tus_guard)
) -> AsyncIterator[None]:
    """Answer ``HEAD`` and ``PATCH`` on a finished upload, and on one being finished, here.

    tuspyserver knows nothing of an upload whose file became an item (404, and the client
    sends the file again as a new item) and would run the completion again for a ``PATCH``
    of no bytes at its end. A ``HEAD`` holds the finish lock while tuspyserver answers it,
    so the file cannot become an item between the look-up and tuspyserver's answer.
    """
    upload_id = str(request.path_params.get("uuid") or "")
    if request.method not in ("HEAD", "PATCH") or not _UPLOAD_ID.fullmatch(upload_id):
        yield
        return
    services: Services = get_services(request)
    with try_lock(_finish_lock_path(services, upload_id)) as held:
        if not held:
            raise _being_finished()
        finished = await run_in_threadpool(finished_upload, services, upload_id)
        if finished is not None:
            if finished.expires_at < utcnow():
                raise HTTPException(410, "Upload expired")
            raise _Answered(finished_answer(request.method, finished, request.headers))
        if request.method == "HEAD":
            stranded = await run_in_threadpool(_stranded, services, upload_id)
            if stranded is not None:
                # every byte arrived but the request finishing it died first: finish it now
                await _finish(request, services, who, _files_dir(services) / upload_id, stranded)
                finished = await run_in_threadpool(finished_upload, services, upload_id)
                if finished is not None:
                    raise _Answered(finished_answer("HEAD", finished, request.headers))
            yield
            return
    # a PATCH may complete the upload, which takes the lock itself
    yield


def _stranded(services: Services, upload_id: str) -> dict[str, Any] | None:
    """The metadata of an upload whose every byte is here but which is not an item, else None."""
    path = _files_dir(services) / upload_id
    try:
        info = json.loads(path.with_name(f"{upload_id}.info").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not path.exists():
        return None
    size, metadata = info.get("size"), info.get("metadata")
    if not isinstance(size, int) or info.get("offset") != size or not isinstance(metadata, dict):
        return None
    return metadata


def _metadata_fields(metadata: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in metadata.items() if k in _TARGET_FIELDS and v is not None}


def _pre_create_dep(
    request: Request, who: PrincipalDep
) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    services: Services = get_services(request)

    def check(metadata: dict[str, Any], info: dict[str, Any]) -> None:
        if not metadata.get("filename") or not metadata.get("filetype"):
            # tus clients send both; resuming (HEAD) needs them
            raise InvalidRequestError("Upload-Metadata needs filename and filetype")
        # refuse a bad target before a single byte is sent, not after 2 GB
        intake.check_target(services, who, _metadata_fields(metadata))
        size = info.get("size")
        if size is not None and int(size) > services.settings.max_video_bytes:
            raise PayloadTooLargeError("the file is larger than the upload limit")

    return check


def _file_dep(who: PrincipalDep) -> Callable[[dict[str, Any]], dict[str, str]]:
    def options(metadata: dict[str, Any]) -> dict[str, str]:
        return {"uid": f"{who.user_id}-{secrets.token_hex(16)}"} if metadata else {}

    return options


def _complete_dep(
    request: Request, response: Response, who: PrincipalDep
) -> Callable[[str, dict[str, Any]], Any]:
    services: Services = get_services(request)

    async def complete(file_path: str, metadata: dict[str, Any]) -> None:
        path = Path(file_path)
        async with _finishing(_finish_lock_path(services, path.name)):
            evidence_id = await _finish(request, services, who, path, metadata)
        response.headers["Bukti-Evidence-Id"] = str(evidence_id)

    return complete


async def _finish(
    request: Request, services: Services, who: Principal, path: Path, metadata: dict[str, Any]
) -> int:
    """Turn the finished file into its item, once, and queue it; the caller holds the lock."""
    evidence_id, made = await _complete_once(services, who, path, metadata)
    if made:
        await run_in_threadpool(intake.queue, services, request.app.state.enqueue, evidence_id)
    path.with_name(path.name + ".info").unlink(missing_ok=True)
    return evidence_id


async def _complete_once(
    services: Services, who: Principal, path: Path, metadata: dict[str, Any]
) -> tuple[int, bool]:
    """The item the finished file becomes, and whether this call made it: made once,
    whatever the number of requests."""
    finished = await run_in_threadpool(finished_upload, services, path.name)
    if finished is not None:
        return finished.evidence_id, False
    if not path.exists():
        # a finish cut short (the process died) left no file and no item: start again
        raise ConflictError("this upload's bytes are no longer here; ask for its offset again")
    length = path.stat().st_size
    upload = await run_in_threadpool(_received, services, path, metadata)
    try:
        item = await run_in_threadpool(
            intake.insert_upload, services, who, upload, also=_remember(path.name, length)
        )
    except Exception as exc:
        # no item holds the moved file: it goes, as a multipart upload's does, and with it
        # the upload's record of its bytes, which are no longer here to resume
        upload.discard()
        path.with_name(path.name + ".info").unlink(missing_ok=True)
        if not isinstance(exc, IntegrityError):
            raise
        # another process recorded it first (a filesystem whose locks do not reach it)
        finished = await run_in_threadpool(finished_upload, services, path.name)
        if finished is None:
            raise
        return finished.evidence_id, False
    return item.id, True


def _received(services: Services, path: Path, metadata: dict[str, Any]) -> ReceivedUpload:
    """The finished tus file as an upload: sniffed, limited and hashed like a multipart one."""
    if path.stat().st_size == 0:
        path.unlink(missing_ok=True)
        raise InvalidRequestError("the uploaded file is empty (0 bytes): send it again")
    with path.open("rb") as fh:
        sniffed = sniff(fh.read(HEAD_BYTES))
    if sniffed is None:
        path.unlink(missing_ok=True)
        raise UnsupportedMediaError("the file is not a photo, video or document Bukti accepts")
    settings = services.settings
    limit = intake.upload_limits(services)[sniffed.kind]
    size = path.stat().st_size
    if size > limit:
        path.unlink(missing_ok=True)
        raise PayloadTooLargeError(f"the {sniffed.kind} is larger than its upload limit")
    # hashed where it is: a request dying meanwhile leaves it for the next HEAD to finish
    sha256 = sha256_file(path)
    # move it beside the multipart uploads: the pipeline takes it from there
    staged = settings.incoming_dir / f"{STAGED_TUS_PREFIX}{path.name}"
    shutil.move(path, staged)
    # its age in incoming/ counts from now (see api.upload_cleanup)
    os.utime(staged)
    name = str(metadata.get("filename") or "")[:255] or None
    return ReceivedUpload(staged, size, sha256, sniffed, name, _metadata_fields(metadata))


def _files_dir(services: Services) -> Path:
    return tus_dir(services.settings)


async def _answered(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Answered)
    return exc.response


def mount_resumable_uploads(app: FastAPI, services: Services) -> None:
    """Mount the tus endpoint under /api/v1/uploads."""
    files_dir = _files_dir(services)
    files_dir.mkdir(parents=True, exist_ok=True)
    router: APIRouter = create_tus_router(
        prefix=PREFIX,
        files_dir=str(files_dir),
        max_size=services.settings.max_video_bytes,
        days_to_keep=DAYS_TO_KEEP,
        pre_create_dep=_pre_create_dep,
        # tuspyserver annotates file_dep as returning None, but reads a dict of options from it
        file_dep=_file_dep,  # type: ignore[arg-type]
        upload_complete_dep=_complete_dep,
        tags=["resumable uploads"],
    )
    app.add_exception_handler(_Answered, _answered)
    app.include_router(router, dependencies=[Depends(tus_guard), Depends(finished_guard)])
