"""In-memory near-duplicate index over every stored photo's fingerprint.

Layout: one packed ``uint64`` column per hash (pHash, row dHash, column dHash) plus an ``int64``
column of evidence ids, 32 bytes a photo, grown by doubling (amortised O(1) appends).

A query scans the pHash column in cache-sized blocks, for the photo and its mirror image in
the same pass, with ``np.bitwise_count(block ^ q)``; keeps the rows within the policy's pHash
gate (0.27 % of unrelated real photos, ~0.3 % of photo-like random hashes) and confirms only
those with the two dHashes. Measured by ``bench/near_dup_lookup.py`` on this 2-core machine
(shared, so wall-clock tails wander; CPU time does not): at 1 M photos a query takes 1.1-1.4 ms
at p50 and 1.3-2.3 ms of CPU at p99; the columns take 32 MB, up to twice that just after a
doubling (pass ``initial_capacity`` when the count is known, as when loading from the
database).

At 10 M: 13-17 ms of CPU per query (measured), 305 MB of columns (again up to twice that).
The scan is linear and memory-bound. The next steps, in order of effort:

1. split each query's scan across threads, one block range each (numpy releases the GIL in
   the scan): up to a core per thread, as far as memory bandwidth allows;
2. narrow the haystack by domain before hashing: a recycled photo comes back within the same
   province, term and kind of activity, so a shard per (school year, region) stays ~1 M;
3. multi-index hashing (Norouzi et al.): split the pHash into 4 16-bit words, one hash table
   per word. A pHash within the gate has a word within gate // 4 bits of the query's, so a
   query probes those buckets instead of scanning. At today's gate (18) that is 4 x 2,517 of
   65,536 buckets, ~15 % of the index: little gain. At a gate of 14 (0.3 % less recall in the
   benchmark) it is 4 x 697 buckets, ~4 %, so 10 M would cost about what 0.4 M costs today.

Sharding by hash prefix alone does not work for Hamming search: a near copy can differ from
its original in any bit, the first ones included.

Concurrency: one writer at a time (a lock serialises writers) and any number of readers
without locks. A writer fills rows past the published size, or copies into new, larger
columns, and then publishes a new immutable snapshot with one attribute assignment; a reader
works on the snapshot it took, which never changes under it.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from evidence.duplicates import DEFAULT_POLICY, Fingerprint, NearDuplicatePolicy, PerceptualHashes

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
# Rows scanned per step: 1 MB of XOR scratch stays in cache and is reused, where one pass over
# the whole column would allocate (and page-fault in) 8 bytes a photo per query: at 10 M that
# doubled the query time.
_BLOCK_ROWS = 1 << 17


class NearMatch(NamedTuple):
    """A stored photo that the policy calls a near duplicate of the query."""

    evidence_id: int
    distance: int  # the three Hamming distances added up
    phash_distance: int
    mirrored: bool  # the query's mirror image matched


@dataclass(frozen=True)
class _Snapshot:
    """Columns of ``capacity`` rows of which the first ``size`` are published."""

    evidence_ids: I64
    phash: U64
    dhash: U64
    dhash_vertical: U64
    size: int

    @property
    def capacity(self) -> int:
        return len(self.evidence_ids)


def _empty(capacity: int) -> _Snapshot:
    return _Snapshot(
        evidence_ids=np.zeros(capacity, dtype=np.int64),
        phash=np.zeros(capacity, dtype=np.uint64),
        dhash=np.zeros(capacity, dtype=np.uint64),
        dhash_vertical=np.zeros(capacity, dtype=np.uint64),
        size=0,
    )


class HashIndex:
    """Finds stored photos that are near duplicates of a query photo, nearest first."""

    def __init__(
        self, policy: NearDuplicatePolicy = DEFAULT_POLICY, initial_capacity: int = 1024
    ) -> None:
        self.policy = policy
        self._snapshot = _empty(max(1, initial_capacity))
        self._write_lock = threading.Lock()
        self._local = threading.local()

    def __len__(self) -> int:
        return self._snapshot.size

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns, headroom included."""
        snapshot = self._snapshot
        return snapshot.capacity * 32

    def add(self, evidence_id: int, hashes: PerceptualHashes) -> None:
        """Store one photo's hashes; blank pictures are skipped (they match nothing)."""
        self.add_many([evidence_id], [hashes])

    def add_many(self, evidence_ids: Sequence[int], hashes: Sequence[PerceptualHashes]) -> None:
        """Store many photos' hashes at once; blank pictures are skipped."""
        if len(evidence_ids) != len(hashes):
            raise ValueError("one evidence id per set of hashes")
        kept = [(i, h) for i, h in zip(evidence_ids, hashes, strict=True) if not h.is_blank]
        self.add_columns(
            np.array([i for i, _ in kept], dtype=np.int64),
            np.array([h.phash for _, h in kept], dtype=np.uint64),
            np.array([h.dhash for _, h in kept], dtype=np.uint64),
            np.array([h.dhash_vertical for _, h in kept], dtype=np.uint64),
        )

    def add_columns(
        self,
        evidence_ids: npt.ArrayLike,
        phash: npt.ArrayLike,
        dhash: npt.ArrayLike,
        dhash_vertical: npt.ArrayLike,
    ) -> None:
        """Store (non-blank) photos' hashes given as columns: bulk loading from the database."""
        columns = (
            np.asarray(evidence_ids, dtype=np.int64).ravel(),
            np.asarray(phash, dtype=np.uint64).ravel(),
            np.asarray(dhash, dtype=np.uint64).ravel(),
            np.asarray(dhash_vertical, dtype=np.uint64).ravel(),
        )
        count = len(columns[0])
        if any(len(column) != count for column in columns):
            raise ValueError("columns differ in length")
        if count == 0:
            return
        with self._write_lock:
            current = self._snapshot
            start, stop = current.size, current.size + count
            target = current if stop <= current.capacity else _grown(current, stop)
            # Rows past ``current.size`` are invisible to readers until the snapshot below is
            # published, so filling them in place is safe.
            target.evidence_ids[start:stop] = columns[0]
            target.phash[start:stop] = columns[1]
            target.dhash[start:stop] = columns[2]
            target.dhash_vertical[start:stop] = columns[3]
            self._snapshot = _Snapshot(
                target.evidence_ids, target.phash, target.dhash, target.dhash_vertical, stop
            )

    def query(
        self, hashes: PerceptualHashes, *, exclude_ids: Collection[int] = (), limit: int = 10
    ) -> list[NearMatch]:
        """Stored photos the policy calls near duplicates of the query (or of its mirror image)."""
        if hashes.is_blank or limit <= 0:
            return []
        snapshot = self._snapshot
        views = [(hashes.fingerprint, False), (hashes.mirrored_fingerprint, True)]
        candidates = self._candidates(snapshot, [view.phash for view, _ in views])
        rows_found: list[I64] = []
        distances: list[npt.NDArray[np.int64]] = []
        phash_distances: list[npt.NDArray[np.int64]] = []
        flips: list[npt.NDArray[np.bool_]] = []
        for (view, is_mirrored), candidate_rows in zip(views, candidates, strict=True):
            rows, distance, phash_distance = self._confirmed(snapshot, view, candidate_rows)
            rows_found.append(rows)
            distances.append(distance)
            phash_distances.append(phash_distance)
            flips.append(np.full(len(rows), is_mirrored))
        return _best_per_evidence(
            snapshot.evidence_ids[np.concatenate(rows_found)],
            np.concatenate(distances),
            np.concatenate(phash_distances),
            np.concatenate(flips),
            exclude_ids,
            limit,
        )

    def _candidates(self, snapshot: _Snapshot, phashes: list[int]) -> list[I64]:
        """Rows within the pHash gate of each query pHash, in one pass over the column."""
        scratch = self._scratch()
        gate = self.policy.max_phash_distance
        queries = [np.uint64(phash) for phash in phashes]
        found: list[list[I64]] = [[] for _ in queries]
        for start in range(0, snapshot.size, _BLOCK_ROWS):
            stop = min(snapshot.size, start + _BLOCK_ROWS)
            block = snapshot.phash[start:stop]
            xor, count = scratch.xor[: stop - start], scratch.count[: stop - start]
            for query, rows in zip(queries, found, strict=True):
                np.bitwise_xor(block, query, out=xor)
                np.bitwise_count(xor, out=count)
                hits = np.flatnonzero(count <= gate)
                if len(hits):
                    rows.append(hits + start)
        return [np.concatenate(rows) if rows else np.empty(0, np.int64) for rows in found]

    def _confirmed(
        self, snapshot: _Snapshot, view: Fingerprint, rows: I64
    ) -> tuple[I64, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The candidate rows whose summed distance passes the policy, with their distances."""
        phash_distance = np.bitwise_count(snapshot.phash[rows] ^ np.uint64(view.phash))
        distance = (
            phash_distance.astype(np.int64)
            + np.bitwise_count(snapshot.dhash[rows] ^ np.uint64(view.dhash))
            + np.bitwise_count(snapshot.dhash_vertical[rows] ^ np.uint64(view.dhash_vertical))
        )
        confirmed = distance <= self.policy.max_distance
        return rows[confirmed], distance[confirmed], phash_distance[confirmed].astype(np.int64)

    def _scratch(self) -> _Scratch:
        """This thread's scan buffers: reused, so a query allocates no large arrays."""
        scratch: _Scratch | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = _Scratch()
        return scratch


class _Scratch:
    """Per-thread buffers for scanning one block of the pHash column."""

    def __init__(self) -> None:
        self.xor = np.empty(_BLOCK_ROWS, dtype=np.uint64)
        self.count = np.empty(_BLOCK_ROWS, dtype=np.uint8)


def _grown(current: _Snapshot, needed: int) -> _Snapshot:
    """New columns with room for ``needed`` rows (at least double), holding the current rows."""
    grown = _empty(max(needed, 2 * current.capacity))
    size = current.size
    grown.evidence_ids[:size] = current.evidence_ids[:size]
    grown.phash[:size] = current.phash[:size]
    grown.dhash[:size] = current.dhash[:size]
    grown.dhash_vertical[:size] = current.dhash_vertical[:size]
    return grown


def _best_per_evidence(
    evidence_ids: I64,
    distances: npt.NDArray[np.int64],
    phash_distances: npt.NDArray[np.int64],
    mirrored: npt.NDArray[np.bool_],
    exclude_ids: Collection[int],
    limit: int,
) -> list[NearMatch]:
    """Nearest first, one match per evidence id (an item may hold several fingerprints)."""
    if exclude_ids and len(evidence_ids):
        keep = ~np.isin(evidence_ids, np.fromiter(exclude_ids, dtype=np.int64))
        evidence_ids, distances = evidence_ids[keep], distances[keep]
        phash_distances, mirrored = phash_distances[keep], mirrored[keep]
    # Sort by distance, then pHash distance, then not-mirrored first, then id (stable output).
    order = np.lexsort((evidence_ids, mirrored, phash_distances, distances))
    matches: list[NearMatch] = []
    seen: set[int] = set()
    for row in order.tolist():
        evidence_id = int(evidence_ids[row])
        if evidence_id in seen:
            continue
        seen.add(evidence_id)
        matches.append(
            NearMatch(
                evidence_id, int(distances[row]), int(phash_distances[row]), bool(mirrored[row])
            )
        )
        if len(matches) == limit:
            break
    return matches
