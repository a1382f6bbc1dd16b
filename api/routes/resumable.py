"""Resumable uploads (tus 1.0) for large videos on weak mobile networks.

A client creates an upload with ``POST /api/v1/uploads`` (``Upload-Length`` and
``Upload-Metadata`` naming what the file proves, as the multipart form does: ``activity_id``;
``attendance_id`` and ``check``; ``date``; or ``month`` and ``requirement``; plus
``filename`` and ``filetype``), sends the bytes with ``PATCH`` and, after an interruption, asks ``HEAD`` for
the offset to resume from. When the last byte arrives the file enters the same pipeline as a
multipart upload, and the answer carries ``Bukti-Evidence-Id``.

Upload ids start with their owner's user id and the guard below checks it on every request
before any byte is written: another user's upload answers 404.
"""

from __future__ import annotations

import logging
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from tuspyserver import create_tus_router

from api.auth import Principal
from api.deps import PrincipalDep, get_services
from api.routes.evidence import _enqueue, _insert_upload, _target, upload_limits
from api.upload import ReceivedUpload
from bukti.bootstrap import Services
from bukti.errors import InvalidRequestError, PayloadTooLargeError, UnsupportedMediaError
from evidence.sniff import HEAD_BYTES, sniff
from evidence.status import Role
from storage.db import transaction
from storage.integrity import sha256_file

log = logging.getLogger(__name__)

PREFIX = "/api/v1/uploads"
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
        with transaction(services.sessions) as db:
            _target(db, who, _metadata_fields(metadata))
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
        upload = await run_in_threadpool(_received, services, Path(file_path), metadata)
        item = await run_in_threadpool(_insert_upload, services, who, upload, None)
        response.headers["Bukti-Evidence-Id"] = str(item.id)
        await run_in_threadpool(_enqueue, request, item.id)
        info = Path(file_path).with_name(Path(file_path).name + ".info")
        info.unlink(missing_ok=True)

    return complete


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
    limit = upload_limits(services)[sniffed.kind]
    size = path.stat().st_size
    if size > limit:
        path.unlink(missing_ok=True)
        raise PayloadTooLargeError(f"the {sniffed.kind} is larger than its upload limit")
    # move it beside the multipart uploads: the pipeline takes it from there
    staged = settings.incoming_dir / f".upload-tus-{path.name}"
    shutil.move(path, staged)
    name = str(metadata.get("filename") or "")[:255] or None
    return ReceivedUpload(
        staged, size, sha256_file(staged), sniffed, name, _metadata_fields(metadata)
    )


def mount_resumable_uploads(app: FastAPI, services: Services) -> None:
    """Mount the tus endpoint under /api/v1/uploads."""
    files_dir = services.settings.data_dir / "tus"
    files_dir.mkdir(parents=True, exist_ok=True)
    router: APIRouter = create_tus_router(
        prefix=PREFIX,
        files_dir=str(files_dir),
        max_size=services.settings.max_video_bytes,
        days_to_keep=3,
        pre_create_dep=_pre_create_dep,
        # tuspyserver annotates file_dep as returning None, but reads a dict of options from it
        file_dep=_file_dep,  # type: ignore[arg-type]
        upload_complete_dep=_complete_dep,
        tags=["resumable uploads"],
    )
    app.include_router(router, dependencies=[Depends(tus_guard)])
