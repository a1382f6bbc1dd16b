"""C2PA (Content Credentials): read and verify a file's manifest, with c2pa-python.

Some phones (Pixel 10, Galaxy S25) and editing apps embed a signed C2PA manifest that says
which device or app made the file and what was done to it. Bukti records it as a positive fact
beside the flags; a missing manifest says nothing, since most phones write none.

What "valid" means here: the claim signature verifies against the certificate in the manifest,
and every hash in it (the assertions and the bytes of the asset) matches, i.e. c2pa-rs's
validation state is ``Valid`` or ``Trusted``. Whether the signer is on a trust list is a separate
question, answered by ``trusted``: a manifest that is intact but signed by a certificate no
configured trust anchor vouches for (every one, until a trust list is configured) is
``valid: True, trusted: False``, and its ``validation_errors`` hold ``signingCredential.untrusted``.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import c2pa

log = logging.getLogger(__name__)

# The JUMBF description box of a C2PA manifest store: the box type "jumd" followed by the store's
# UUID, whose first four bytes spell "c2pa". Only looked for when the library fails, to tell a
# damaged manifest from a file it cannot parse that carries none.
_MANIFEST_STORE_MARKER = b"jumdc2pa"
_SCAN_CHUNK_BYTES = 1 << 20

_VALID_STATES = frozenset({"Valid", "Trusted"})


@functools.cache
def _reading_context() -> c2pa.Context:
    # A manifest may point at a remote copy of itself: fetching it would let an uploaded file make
    # the worker request any URL, and would tie reading to the network. OCSP likewise.
    return c2pa.Context.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}})


def read_c2pa(path: Path, mime: str) -> dict[str, Any] | None:
    """Return the C2PA facts of the file at ``path`` as a JSON-ready dict, or None without one."""
    try:
        with path.open("rb") as stream:
            reader = c2pa.Reader.try_create(mime, stream, None, _reading_context())
            if reader is None:
                return None
            with reader:
                store = json.loads(reader.json())
    except (c2pa.C2paError, ValueError) as exc:
        if not _has_manifest_store_marker(path):
            # Not a container the library can parse (truncated, unsupported type) and no
            # manifest in it: the media steps judge the file itself.
            log.debug("c2pa could not read %s: %s", path, exc)
            return None
        return {"present": True, "valid": False, "error": str(exc), "source": "c2pa"}
    return _facts(store if isinstance(store, dict) else {})


def _facts(store: dict[str, Any]) -> dict[str, Any]:
    manifests = store.get("manifests") or {}
    manifest = manifests.get(store.get("active_manifest")) or {}
    state = str(store.get("validation_state") or "Invalid")
    signature = manifest.get("signature_info") or {}
    return {
        "present": True,
        "valid": state in _VALID_STATES,
        "trusted": state == "Trusted",
        "validation_state": state,
        "validation_errors": _failure_codes(store),
        "claim_generator": _claim_generator(manifest),
        "title": manifest.get("title"),
        "signer": signature.get("issuer"),
        "signed_at": _iso_utc(signature.get("time")),
        "actions": _actions(manifest),
        "source": "c2pa",
    }


def _failure_codes(store: dict[str, Any]) -> list[str]:
    codes = (status.get("code") for status in store.get("validation_status") or [])
    return list(dict.fromkeys(str(code) for code in codes if code))


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    # Claims v1 carry a free-text claim_generator; v2 only claim_generator_info entries, of which
    # the SDK appends its own version under a key of its own, kept out of the name here.
    if manifest.get("claim_generator"):
        return str(manifest["claim_generator"])
    parts = []
    for info in manifest.get("claim_generator_info") or []:
        name = info.get("name")
        if name:
            version = info.get("version")
            parts.append(f"{name}/{version}" if version else str(name))
    return " ".join(parts) or None


def _actions(manifest: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for assertion in manifest.get("assertions") or []:
        # "c2pa.actions" and its versions ("c2pa.actions.v2"), possibly with an instance suffix.
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            name = action.get("action")
            if name and name not in names:
                names.append(str(name))
    return names


def _iso_utc(value: Any) -> str | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).isoformat()


def _has_manifest_store_marker(path: Path) -> bool:
    overlap = len(_MANIFEST_STORE_MARKER) - 1
    tail = b""
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_SCAN_CHUNK_BYTES):
                if _MANIFEST_STORE_MARKER in tail + chunk:
                    return True
                tail = chunk[-overlap:]
    except OSError:
        return False
    return False
