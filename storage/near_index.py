"""Near-duplicate photo lookup in the database: multi-index hashing over B-tree indexes.

Each registered photo is one row of ``perceptual_hashes``: its three 64-bit hashes (pHash, row
dHash, column dHash, stored as signed BIGINTs) and those 192 bits cut into nine *bands*, three
per hash of 21, 21 and 22 bits, each an indexed INTEGER column. A query looks up every stored
photo that has at least one band within :data:`PROBE_RADIUS` (1) bit of the same band of the
query or of its mirror image: per band the band itself and its 21-22 one-bit neighbours, for
both views, 402 values in all. On PostgreSQL each band's B-tree index holds the item and its
three hashes too (``INCLUDE``), and the lookup is one ``band = ANY(array)`` SELECT per band
glued with UNION ALL: nine index-only scans, one descent per probed value, then the rows that
share it side by side in a leaf, kept only when within the policy's pHash gate and summed
distance (``bit_count`` on the XOR), without reading a page of the table. On SQLite the bands
are ``IN`` lists, ORed. Every survivor is confirmed again in Python with
:func:`evidence.duplicates.matching_likeness`, the policy itself.

What it finds: by the pigeonhole principle every stored photo whose summed distance to the
query (or its mirror image) is at most 17 of 192 bits (nine bands, so one of them differs by 1
bit or less); beyond that a copy is found when its differences are bunched rather than spread,
as recompression, resizing, mirroring, letterboxing and screenshots leave them; a crop of one
corner, which moves every cell, is missed more often. ``bench/near_dup_accuracy.py`` runs its
pairs through this lookup: recall 0.956 where the policy pair by pair reaches 0.969.

What it costs: a band of ``w`` bits holds ``N / 2**w`` uniform photos per value, so a query
reads ~402 * N / 2**21 unrelated index entries (1,585 at 10 M uniform hashes; real photos'
dHash bands crowd, several times more), thousands of times fewer than a scan, plus ~400
descents of three pages; nothing is held in a worker's memory. The price is the indexes' size:
~50 bytes a photo each, ~4.5 GB for the nine at 10 M, which must stay in the server's RAM.
``bench/near_dup_lookup.py`` measures it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Executable,
    Integer,
    Select,
    String,
    all_,
    and_,
    any_,
    bindparam,
    cast,
    create_engine,
    distinct,
    func,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, BIT
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from evidence.duplicates import (
    DEFAULT_POLICY,
    Fingerprint,
    NearDuplicatePolicy,
    PerceptualHashes,
    matching_likeness,
)
from storage.db import is_postgres, upsert
from storage.models import PerceptualHashRow

#: the widths of the bands of each 64-bit hash, most significant bits first
BAND_WIDTHS: tuple[int, ...] = (21, 21, 22)
BANDS_PER_HASH = len(BAND_WIDTHS)
BAND_COUNT = 3 * BANDS_PER_HASH
#: a band matches when it differs from the query's in at most this many bits
PROBE_RADIUS = 1
_U64 = (1 << 64) - 1


class NearMatch(NamedTuple):
    """A stored photo that the policy calls a near duplicate of the query."""

    evidence_id: int
    distance: int  # the three Hamming distances added up
    phash_distance: int
    mirrored: bool  # the query's mirror image matched


def to_signed(value: int) -> int:
    """An unsigned 64-bit hash as the signed BIGINT that stores the same bits."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    """The inverse of :func:`to_signed`."""
    return value & _U64


def hash_bands(value: int) -> tuple[int, ...]:
    """The bands of one unsigned 64-bit hash, most significant first."""
    bands = []
    shift = 64
    for width in BAND_WIDTHS:
        shift -= width
        bands.append((value >> shift) & ((1 << width) - 1))
    return tuple(bands)


def bands(fingerprint: Fingerprint) -> tuple[int, ...]:
    """The nine bands of a fingerprint: pHash's, then the row dHash's, then the column's."""
    return (
        hash_bands(fingerprint.phash)
        + hash_bands(fingerprint.dhash)
        + hash_bands(fingerprint.dhash_vertical)
    )


def band_width(band: int) -> int:
    """How many bits band number ``band`` (0-8) holds."""
    return BAND_WIDTHS[band % BANDS_PER_HASH]


def neighbours(value: int, width: int, radius: int = PROBE_RADIUS) -> set[int]:
    """Every value of ``width`` bits within ``radius`` bits of ``value`` (itself included)."""
    found = {value}
    for _ in range(radius):
        found |= {other ^ (1 << bit) for other in found for bit in range(width)}
    return found


def probes(views: Iterable[Fingerprint], radius: int = PROBE_RADIUS) -> list[set[int]]:
    """Per band, the values a stored photo may hold in it to be a candidate of any view."""
    per_band: list[set[int]] = [set() for _ in range(BAND_COUNT)]
    for view in views:
        for band, value in enumerate(bands(view)):
            per_band[band] |= neighbours(value, band_width(band), radius)
    return per_band


def band_columns() -> list[ColumnElement[int]]:
    """The band columns of ``perceptual_hashes``, in band order."""
    table = PerceptualHashRow.__table__
    return [table.c[f"band_{band}"] for band in range(BAND_COUNT)]


def row_values(evidence_id: int, fingerprint: Fingerprint) -> dict[str, int]:
    """The column values of a registered photo."""
    values = {
        "evidence_id": evidence_id,
        "phash": to_signed(fingerprint.phash),
        "dhash": to_signed(fingerprint.dhash),
        "dhash_vertical": to_signed(fingerprint.dhash_vertical),
    }
    values.update({f"band_{band}": value for band, value in enumerate(bands(fingerprint))})
    return values


def register(session: Session, evidence_id: int, hashes: PerceptualHashes) -> bool:
    """Store (or overwrite) a photo's hashes in the index, flushed in the session's transaction.

    A blank picture is not stored: it is nobody's near duplicate. True when a row was written.
    """
    if hashes.is_blank:
        return False
    statement = _register_statement(is_postgres(session))
    session.connection().execute(statement, row_values(evidence_id, hashes.fingerprint))
    return True


@cache
def _register_statement(postgres: bool) -> Executable:
    """:func:`register`'s upsert, built once per dialect: the row comes as parameters."""
    table = PerceptualHashRow.__table__
    insert = upsert(postgres, table)
    return insert.on_conflict_do_update(
        index_elements=["evidence_id"],
        set_={
            column.name: insert.excluded[column.name]
            for column in table.c
            if column.name != "evidence_id"
        },
    )


def _popcount_xor(column: ColumnElement[int], name: str) -> ColumnElement[int]:
    # PostgreSQL 14+: bit_count of the XOR seen as 64 bits
    value = bindparam(name, type_=BigInteger)
    return func.bit_count(cast(column.op("#")(value), BIT(64)))


def _within_policy(view: int, rows: Any) -> ColumnElement[bool]:
    # rows: the table, or the subquery of the bands' matches (their ``.c`` columns)
    phash = _popcount_xor(rows.c.phash, f"phash_{view}")
    total = (
        phash
        + _popcount_xor(rows.c.dhash, f"dhash_{view}")
        + _popcount_xor(rows.c.dhash_vertical, f"dhash_vertical_{view}")
    )
    return and_(
        phash <= bindparam("max_phash_distance", type_=Integer),
        total <= bindparam("max_distance", type_=Integer),
    )


#: For the rest of the transaction (PostgreSQL): no parallel workers. A lookup is ~400 B-tree
#: descents, a few milliseconds on one core; with a plan of its literal values (a connection's
#: first executions, before its statement is prepared) the planner may hand the nine scans to
#: parallel workers, whose start-up costs more than the scans (one lookup at 10 M crowded
#: hashes: 20 ms with two workers, 3-4 ms without).
SERIAL = text("SET LOCAL max_parallel_workers_per_gather = 0")


def _integer_array(name: str) -> ColumnElement[Any]:
    # the value comes as the array's text (array_literal)
    return cast(bindparam(name, type_=String), ARRAY(Integer))


def _json_integers(name: str) -> Select[Any]:
    # SQLite: the value comes as a JSON array's text (json_list), unpacked by json_each
    return select(func.json_each(bindparam(name, type_=String)).table_valued("value").c.value)


@cache
def lookup_statement(postgres: bool, filtered: bool) -> Select[Any]:
    """The lookup's SELECT, built once: the values come as parameters.

    On PostgreSQL it selects from one SELECT per band glued with UNION ALL; the planner turns
    each into an index-only scan of that band's covering index (``band = ANY(array)``, one
    B-tree descent per probed value, then the rows sharing the value side by side in a leaf)
    and pushes the outer conditions into every scan, so no table page is read; a row found
    through several bands comes back once per band. The conditions are written once, outside:
    the statement stays under 4 kB, the length up to which psycopg caches its parsing (twice
    that costs 0.6 ms of the client's CPU a lookup). On SQLite one SELECT whose bands are ORed,
    each ``band IN (SELECT value FROM json_each(:band))``: the planner probes the band's index
    once per value as it does for a list, and the ~400 values come as nine strings, not as
    ~400 parameters that SQLAlchemy would write into the statement's text on every run
    (~0.2 ms of CPU a lookup).
    """
    table = PerceptualHashRow.__table__
    columns = (table.c.evidence_id, table.c.phash, table.c.dhash, table.c.dhash_vertical)
    if postgres:  # array parameters: the statement's text never changes
        rows: Any = union_all(
            *(
                select(*columns).where(column == any_(_integer_array(f"band_{band}")))
                for band, column in enumerate(band_columns())
            )
        ).subquery("found")
        excluded = rows.c.evidence_id != all_(_integer_array("exclude"))
    else:
        rows = table
        excluded = table.c.evidence_id.not_in(_json_integers("exclude"))
    query = select(rows.c.evidence_id, rows.c.phash, rows.c.dhash, rows.c.dhash_vertical)
    if not postgres:
        query = query.where(
            or_(
                *(
                    column.in_(_json_integers(f"band_{band}"))
                    for band, column in enumerate(band_columns())
                )
            )
        )
    query = query.where(excluded)
    if filtered:  # the rows outside the policy never leave the server
        query = query.where(or_(_within_policy(0, rows), _within_policy(1, rows)))
    return query


def array_literal(values: Iterable[int]) -> str:
    """Integers in PostgreSQL's text form of an array, ``{1,2,3}``, sorted.

    One string per band instead of a list, which psycopg would check and quote element by
    element: 0.4 ms of the client's CPU a lookup for the 402 values.
    """
    return _array_text(map(str, sorted(values)))


def _array_text(elements: Iterable[str]) -> str:
    return "{" + ",".join(elements) + "}"


def json_list(values: Iterable[int]) -> str:
    """Integers as the text of a JSON array, ``[1,2,3]``, sorted: SQLite's form of
    :func:`array_literal`."""
    return "[" + ",".join(map(str, sorted(values))) + "]"


def lookup_parameters(
    hashes: PerceptualHashes,
    policy: NearDuplicatePolicy,
    exclude_ids: Collection[int],
    postgres: bool,
) -> dict[str, Any]:
    """The values of :func:`lookup_statement`'s parameters for a photo."""
    views = (hashes.fingerprint, hashes.mirrored_fingerprint)
    integers = array_literal if postgres else json_list
    parameters: dict[str, Any] = {
        f"band_{band}": integers(values) for band, values in enumerate(probes(views))
    }
    for number, view in enumerate(views):
        parameters[f"phash_{number}"] = to_signed(view.phash)
        parameters[f"dhash_{number}"] = to_signed(view.dhash)
        parameters[f"dhash_vertical_{number}"] = to_signed(view.dhash_vertical)
    parameters["max_phash_distance"] = policy.max_phash_distance
    parameters["max_distance"] = policy.max_distance
    parameters["exclude"] = integers(exclude_ids)
    return parameters


def literal_lookup(hashes: PerceptualHashes, dialect: Dialect) -> str:
    """The PostgreSQL lookup's statement with a photo's values written in, for EXPLAIN."""
    parameters = lookup_parameters(hashes, DEFAULT_POLICY, (), postgres=True)
    statement = lookup_statement(True, True).params(**parameters)
    compiled = statement.compile(
        dialect=dialect, compile_kwargs={"literal_binds": True, "render_postcompile": True}
    )
    return str(compiled)


def candidate_count(session: Session, hashes: PerceptualHashes) -> int:
    """How many rows share a probed band with the photo or its mirror image (unconfirmed)."""
    postgres = is_postgres(session)
    if postgres:
        session.execute(SERIAL)
    rows = lookup_statement(postgres, False).subquery()
    query = select(func.count(distinct(rows.c.evidence_id)))
    return session.scalar(query, lookup_parameters(hashes, DEFAULT_POLICY, (), postgres)) or 0


def lookup(
    session: Session,
    hashes: PerceptualHashes,
    *,
    policy: NearDuplicatePolicy = DEFAULT_POLICY,
    exclude_ids: Collection[int] = (),
    limit: int = 20,
) -> list[NearMatch]:
    """Registered photos the policy calls near duplicates of ``hashes``, nearest first."""
    if hashes.is_blank or limit <= 0:
        return []
    postgres = is_postgres(session)
    if postgres:
        session.execute(SERIAL)
    rows = session.execute(
        lookup_statement(postgres, postgres),
        lookup_parameters(hashes, policy, exclude_ids, postgres),
    )
    matches, seen = [], set()
    for evidence_id, phash, dhash, dhash_vertical in rows:
        if evidence_id in seen:
            continue
        seen.add(evidence_id)
        stored = Fingerprint(to_unsigned(phash), to_unsigned(dhash), to_unsigned(dhash_vertical))
        likeness = matching_likeness(hashes, stored_hashes(stored), policy)
        if likeness is not None:
            matches.append(
                NearMatch(
                    evidence_id, likeness.distance, likeness.phash_distance, likeness.mirrored
                )
            )
    matches.sort(key=lambda m: (m.distance, m.phash_distance, m.mirrored, m.evidence_id))
    return matches[:limit]


def stored_hashes(stored: Fingerprint) -> PerceptualHashes:
    """A stored photo's hashes, compared as they are: its mirror image is the query's
    business, so the mirrored ones repeat the plain ones."""
    return PerceptualHashes(
        stored.phash,
        stored.dhash,
        stored.dhash_vertical,
        stored.phash,
        stored.dhash,
        stored.dhash_vertical,
    )


def memory_index() -> Session:
    """A session on a private in-memory SQLite holding only the index table (benchmarks, tests).

    Its rows point at no items: SQLite checks no foreign key unless told to.
    """
    engine = create_engine("sqlite://")
    PerceptualHashRow.__table__.create(engine)  # type: ignore[attr-defined]
    return Session(engine)


# --- keeping concurrent registrations in sight of each other (PostgreSQL) ---------------------

#: advisory lock namespace (the first of the two int4 keys): "BK" then the band number
LOCK_NAMESPACE = 0x424B0000
#: a band's lock covers its top LOCK_BITS bits: 4,096 keys per band
LOCK_BITS = 12


def lock_keys(hashes: PerceptualHashes) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """The advisory locks a photo's registration and lookup take: (exclusive, shared).

    Exclusive: the bucket of each of the photo's own bands. Shared: the bucket of every value
    its lookup probes. When a lookup can find another photo through a band, that photo's value
    is one it probes, so the two transactions conflict on that band's bucket: the second waits
    for the first to commit and then sees its row. Unrelated photos meet in a bucket rarely
    (each band is cut into 4,096 buckets), and then only wait for a short transaction.
    """
    if hashes.is_blank:
        return set(), set()
    own = {_lock_key(band, value) for band, value in enumerate(bands(hashes.fingerprint))}
    probed = {
        _lock_key(band, value)
        for band, values in enumerate(probes((hashes.fingerprint, hashes.mirrored_fingerprint)))
        for value in values
    }
    return own, probed - own


def _lock_key(band: int, value: int) -> tuple[int, int]:
    return LOCK_NAMESPACE + band, value >> (band_width(band) - LOCK_BITS)


def take_locks(
    session: Session,
    exclusive: Iterable[tuple[int, int]],
    shared: Iterable[tuple[int, int]] = (),
) -> None:
    """Take transaction-scoped advisory locks on PostgreSQL, in key order (no deadlock)."""
    if not is_postgres(session):
        return  # SQLite has one writer at a time: a transaction that wrote sees all others
    modes = {key: False for key in shared}
    modes.update({key: True for key in exclusive})
    ordered: Sequence[tuple[tuple[int, int], bool]] = sorted(modes.items())
    if not ordered:
        return
    session.execute(
        text(
            "SELECT count(CASE WHEN x THEN pg_advisory_xact_lock(c, o)::text "
            "ELSE pg_advisory_xact_lock_shared(c, o)::text END) "
            "FROM unnest(CAST(:c AS integer[]), CAST(:o AS integer[]), CAST(:x AS boolean[])) "
            "AS t(c, o, x)"
        ),
        # arrays' text, in key order, as the lookup's: psycopg would adapt the ~450 keys' three
        # lists element by element (0.6 ms of the client's CPU a photo)
        {
            "c": _array_text(str(key[0]) for key, _ in ordered),
            "o": _array_text(str(key[1]) for key, _ in ordered),
            "x": _array_text("t" if mode else "f" for _, mode in ordered),
        },
    )
