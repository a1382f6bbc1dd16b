"""The SHA-256 of a staged file, read in chunks: the same digest as of its bytes at once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from storage.integrity import sha256_file


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 - 7])
def test_a_file_hashed_in_chunks_has_the_digest_of_its_bytes(tmp_path: Path, size: int) -> None:
    data = bytes(i * 7 % 251 for i in range(size))
    path = tmp_path / "upload"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
