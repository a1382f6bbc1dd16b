"""Bukti's exceptions.

    BuktiError
    ├── RejectedError        the file is not usable evidence (permanent, never retried)
    ├── NotFoundError        a record does not exist, or is not visible to the caller
    ├── ForbiddenError       the caller's role may not do this (or not for that teacher)
    ├── ConflictError        the request contradicts what is stored
    ├── InvalidRequestError  the request is malformed beyond what schema validation catches
    ├── PayloadTooLargeError the upload is over its size limit
    ├── UnsupportedMediaError the upload's bytes are of no kind Bukti accepts
    ├── DependencyError      Redis, the database or the object store failed (transient, retried)
    └── CorruptObjectError   an archived object is missing or its bytes fail their SHA-256

Business findings (a wrong time, a recycled photo) are flags, not exceptions.
"""

from __future__ import annotations


class BuktiError(Exception):
    """Raised for any failure that Bukti itself recognises."""


class RejectedError(BuktiError):
    """Raised when a file is unreadable, unsupported or unsafe: its item becomes `rejected`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFoundError(BuktiError):
    """Raised when a record does not exist or the caller may not see it (both look the same)."""


class ForbiddenError(BuktiError):
    """Raised when the caller's role may not do what it asks, e.g. write another's records."""


class ConflictError(BuktiError):
    """Raised when a request contradicts stored state (a taken NIP, a reused idempotency key)."""


class InvalidRequestError(BuktiError):
    """Raised when a request is well-formed JSON but makes no sense (end before start)."""


class PayloadTooLargeError(BuktiError):
    """Raised when an upload passes its size limit while streaming."""


class UnsupportedMediaError(BuktiError):
    """Raised when an upload's bytes are not a photo, video or document Bukti accepts."""


class DependencyError(BuktiError):
    """Raised when Redis, the database or the object store fails; the work is retried."""


class CorruptObjectError(BuktiError):
    """Raised when an archived object is missing or no longer matches its recorded SHA-256."""
