"""S3 object store through boto3: AWS, SeaweedFS, MinIO or any S3-compatible server."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from storage.backend import ObjectStore, StorageError, StoredObject, check_key

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import (
        BucketLocationConstraintType,
        ObjectLockRetentionModeType,
        TransitionStorageClassType,
    )
    from mypy_boto3_s3.type_defs import CopySourceTypeDef, LifecycleRuleTypeDef
    from typing_extensions import Buffer

# S3 answers a missing key with NoSuchKey on GET but only a bare 404 on HEAD
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_MISSING_BUCKET_CODES = frozenset({"NoSuchBucket", "404", "NotFound"})
_PROBE_NAME = ".bukti-ready-probe"
#: the bucket lifecycle rules Bukti writes start with this; others are left as they are
_RULE_PREFIX = "bukti-cold-"
#: the smallest object the cold rules move (what S3's infrequent-access classes bill at least)
COLD_MIN_BYTES = 128 * 1024
_MIB = 1024 * 1024
# Parts of 8 MiB, at most 4 in flight: an upload holds ~32 MiB whatever the file size,
# and 2 cores gain nothing from more threads.
_TRANSFER = TransferConfig(
    multipart_threshold=8 * _MIB,
    multipart_chunksize=8 * _MIB,
    max_concurrency=4,
    use_threads=True,
)


def cold_rules(
    name: str, key_prefix: str, days: int, storage_class: TransitionStorageClassType
) -> list[LifecycleRuleTypeDef]:
    """The lifecycle rules that move renditions and previews to ``storage_class`` after ``days``.

    Objects under :data:`COLD_MIN_BYTES` stay where they are: the infrequent-access classes bill
    each as 128 KB, and the small ones are the thumbnails every page of the queue reads.
    """
    return [
        {
            "ID": f"{_RULE_PREFIX}{name}-{area}",
            "Status": "Enabled",
            "Filter": {
                "And": {
                    "Prefix": f"{key_prefix}{area}/",
                    "ObjectSizeGreaterThan": COLD_MIN_BYTES - 1,
                }
            },
            "Transitions": [{"Days": days, "StorageClass": storage_class}],
        }
        for area in ("renditions", "previews")
    ]


class S3Store(ObjectStore):
    """Objects in one S3 bucket, optionally under a key prefix."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        create_bucket: bool = False,
        object_lock: str = "off",
        cold_storage_class: str | None = None,
        cold_after_days: int = 90,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 60.0,
        max_attempts: int = 5,
    ) -> None:
        self.bucket = bucket
        self.create_bucket = create_bucket
        if object_lock not in ("off", "GOVERNANCE", "COMPLIANCE"):
            raise ValueError(f"object lock is off, GOVERNANCE or COMPLIANCE, not {object_lock!r}")
        #: the Object Lock mode archived originals get; "off" locks nothing
        self.object_lock = object_lock
        self.cold_storage_class = cold_storage_class
        self.cold_after_days = cold_after_days
        self._lifecycle_set = False
        self.prefix = prefix.strip("/")
        # every key of this store sits under "<prefix>/" in the bucket
        self._prefix = f"{self.prefix}/" if self.prefix else ""
        self._region = region
        config = Config(
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            retries={"mode": "standard", "max_attempts": max_attempts},
            # S3-compatible servers rarely resolve bucket subdomains of their host name
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            # presigned links too: botocore presigns with SigV2 unless told otherwise
            signature_version="s3v4",
        )
        # A session of our own: boto3's default session is not safe to share across threads,
        # while the client built from it is.
        session = boto3.session.Session()
        self._client: S3Client = session.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            # None falls through to boto3's usual chain (environment, instance role)
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )

    def _full_key(self, key: str) -> str:
        return self._prefix + check_key(key)

    def put_file(self, key: str, path: Path, content_type: str) -> StoredObject:
        full_key = self._full_key(key)
        size_bytes = path.stat().st_size
        with _vendor_errors(f"put {key!r}"):
            # upload_file streams from disk and switches to multipart above the threshold
            self._client.upload_file(
                Filename=str(path),
                Bucket=self.bucket,
                Key=full_key,
                ExtraArgs={"ContentType": content_type},
                Config=_TRANSFER,
            )
        return StoredObject(key, size_bytes)

    def open(self, key: str) -> BinaryIO:
        full_key = self._full_key(key)
        with _vendor_errors(f"get {key!r}", missing_key=key):
            body = self._client.get_object(Bucket=self.bucket, Key=full_key)["Body"]
        # bigger than io's 8 KiB default, which would mean many tiny socket reads;
        # reads of a buffer's size or more bypass the buffer altogether
        return io.BufferedReader(_ObjectStream(key, body), buffer_size=256 * 1024)

    def open_range(self, key: str, start: int, length: int) -> BinaryIO:
        full_key = self._full_key(key)
        if length <= 0:
            self.stat(key)  # a missing key still raises
            return io.BytesIO(b"")
        byte_range = f"bytes={start}-{start + length - 1}"
        with _vendor_errors(f"get {key!r} {byte_range}", missing_key=key):
            body = self._client.get_object(Bucket=self.bucket, Key=full_key, Range=byte_range)[
                "Body"
            ]
        return io.BufferedReader(_ObjectStream(key, body), buffer_size=256 * 1024)

    def presigned_url(self, key: str, expires_s: int, content_type: str, disposition: str) -> str:
        with _vendor_errors(f"presign {key!r}"):
            return self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._full_key(key),
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": disposition,
                    "ResponseCacheControl": "private, max-age=300",
                },
                ExpiresIn=expires_s,
            )

    def stat(self, key: str) -> StoredObject:
        full_key = self._full_key(key)
        with _vendor_errors(f"stat {key!r}", missing_key=key):
            head = self._client.head_object(Bucket=self.bucket, Key=full_key)
        return StoredObject(key, head["ContentLength"], head.get("ETag"))

    def copy(self, source_key: str, target_key: str) -> None:
        source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": self._full_key(source_key)}
        with _vendor_errors(f"copy {source_key!r}", missing_key=source_key):
            # managed copy: server side, in parts above the multipart threshold
            self._client.copy(source, self.bucket, self._full_key(target_key), Config=_TRANSFER)

    @property
    def has_object_lock(self) -> bool:
        return self.object_lock != "off"

    def lock(self, key: str, until: datetime) -> str:
        mode = cast("ObjectLockRetentionModeType", self.object_lock)
        with _vendor_errors(f"lock {key!r}", missing_key=key):
            self._client.put_object_retention(
                Bucket=self.bucket,
                Key=self._full_key(key),
                Retention={"Mode": mode, "RetainUntilDate": until},
            )
        return mode

    def set_legal_hold(self, key: str, on: bool) -> None:
        with _vendor_errors(f"legal hold {key!r}", missing_key=key):
            self._client.put_object_legal_hold(
                Bucket=self.bucket,
                Key=self._full_key(key),
                LegalHold={"Status": "ON" if on else "OFF"},
            )

    def earlier_versions(self, key: str) -> list[str]:
        full_key = self._full_key(key)
        with _vendor_errors(f"list versions of {key!r}"):
            found = self._client.list_object_versions(Bucket=self.bucket, Prefix=full_key)
        versions = [v for v in found.get("Versions", []) if v["Key"] == full_key]
        versions.sort(key=lambda v: v["LastModified"], reverse=True)
        return [v["VersionId"] for v in versions if not v.get("IsLatest")]

    def open_version(self, key: str, version: str) -> BinaryIO:
        with _vendor_errors(f"get {key!r} version {version}", missing_key=key):
            body = self._client.get_object(
                Bucket=self.bucket, Key=self._full_key(key), VersionId=version
            )["Body"]
        return io.BufferedReader(_ObjectStream(key, body), buffer_size=256 * 1024)

    def restore_version(self, key: str, version: str) -> None:
        full_key = self._full_key(key)
        source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": full_key, "VersionId": version}
        with _vendor_errors(f"restore {key!r} version {version}", missing_key=key):
            self._client.copy(source, self.bucket, full_key, Config=_TRANSFER)

    def delete(self, key: str) -> None:
        full_key = self._full_key(key)
        with _vendor_errors(f"delete {key!r}"):
            self._client.delete_object(Bucket=self.bucket, Key=full_key)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self._prefix + prefix)
        probe = self._prefix + _PROBE_NAME
        with _vendor_errors(f"list {prefix!r}"):
            for page in pages:
                for item in page.get("Contents", []):
                    if item["Key"] != probe:
                        yield item["Key"][len(self._prefix) :]

    def check(self) -> None:
        """Head the bucket (creating it when allowed), then write and delete a probe."""
        with _vendor_errors(f"check bucket {self.bucket!r}"):
            self._ensure_bucket()
            if self.has_object_lock:
                self._check_object_lock()
            if self.cold_storage_class and not self._lifecycle_set:
                self._set_lifecycle()
                self._lifecycle_set = True
            # head_bucket proves the bucket is visible, not that our credentials may write
            probe = self._prefix + _PROBE_NAME
            self._client.put_object(Bucket=self.bucket, Key=probe, Body=b"ok")
            self._client.delete_object(Bucket=self.bucket, Key=probe)

    def _ensure_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if not self.create_bucket or _error_code(exc) not in _MISSING_BUCKET_CODES:
                raise
            self._create_bucket()

    def _set_lifecycle(self) -> None:
        """Rules moving renditions and previews to the cold class; other rules are kept."""
        assert self.cold_storage_class is not None
        try:
            found = self._client.get_bucket_lifecycle_configuration(Bucket=self.bucket)
            # the bucket's other rules, put back as they came
            rules = cast(
                "list[LifecycleRuleTypeDef]",
                [r for r in found["Rules"] if not r.get("ID", "").startswith(_RULE_PREFIX)],
            )
        except ClientError as exc:
            if _error_code(exc) != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        storage_class = cast("TransitionStorageClassType", self.cold_storage_class)
        rules += cold_rules(
            self.prefix or "root", self._prefix, self.cold_after_days, storage_class
        )
        try:
            self._client.put_bucket_lifecycle_configuration(
                Bucket=self.bucket, LifecycleConfiguration={"Rules": rules}
            )
        except ClientError as exc:
            if _error_code(exc) == "NotImplemented":
                raise StorageError(
                    f"the S3 server of bucket {self.bucket!r} has no lifecycle transitions "
                    f"({exc}): unset BUKTI_S3_COLD_STORAGE_CLASS"
                ) from exc
            raise

    def _check_object_lock(self) -> None:
        try:
            found = self._client.get_object_lock_configuration(Bucket=self.bucket)
            enabled = found["ObjectLockConfiguration"].get("ObjectLockEnabled") == "Enabled"
        except ClientError:
            enabled = False
        if not enabled:
            raise StorageError(
                f"BUKTI_S3_OBJECT_LOCK is {self.object_lock} but bucket {self.bucket!r} has no "
                "object lock: S3 turns it on only when a bucket is created"
            )

    def _create_bucket(self) -> None:
        try:
            # us-east-1 is the one region that refuses an explicit LocationConstraint
            if self._region and self._region != "us-east-1":
                region = cast("BucketLocationConstraintType", self._region)
                self._client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": region},
                    ObjectLockEnabledForBucket=self.has_object_lock,
                )
            else:
                self._client.create_bucket(
                    Bucket=self.bucket, ObjectLockEnabledForBucket=self.has_object_lock
                )
        except ClientError as exc:
            # another worker's readiness check may have created it a moment ago
            if _error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise


class _ObjectStream(io.RawIOBase):
    """The body of a GET, with read faults translated like every other call."""

    def __init__(self, key: str, body: StreamingBody) -> None:
        self._key = key
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        with _vendor_errors(f"read {self._key!r}"):
            chunk = self._body.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        # return the connection to the pool even when the reader stops early
        self._body.close()
        super().close()


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def _vendor_errors(action: str, missing_key: str | None = None) -> Iterator[None]:
    """Translate boto3 errors: a missing key to FileNotFoundError, the rest to StorageError."""
    try:
        yield
    except ClientError as exc:
        if missing_key is not None and _error_code(exc) in _MISSING_CODES:
            raise FileNotFoundError(f"no object {missing_key!r}") from None
        raise StorageError(f"S3 {action} failed: {exc}") from exc
    except (BotoCoreError, Boto3Error) as exc:
        # connection refused, timeouts, a multipart upload that gave up (S3UploadFailedError)
        raise StorageError(f"S3 {action} failed: {exc}") from exc
