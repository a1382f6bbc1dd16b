"""Near-duplicate lookup in PostgreSQL at 1 M and 10 M stored photos: latency, sizes, memory.

Run ``.venv/bin/python -m bench.near_dup_lookup [--quick] [--postgres URL]``. Writes
``bench/results/near_dup_lookup.md`` (``near_dup_lookup.quick.md`` with ``--quick``: 100 k and
1 M stored, under a minute) and prints it; ``--sizes`` and ``--kinds`` choose a partial run,
which is only printed.

It creates a scratch database on the PostgreSQL server (``--postgres``, else
``BUKTI_TEST_POSTGRES_URL``, else ``BUKTI_DATABASE_URL``), migrates it, bulk-loads random
fingerprints into ``perceptual_hashes`` with a binary COPY (the rows point at no items: the
scratch copy of the table loses its foreign key), builds the band indexes as the product's
model defines them (covering), VACUUMs (index-only scans need the visibility map), reads the
indexes into shared buffers, and queries through the product's own lookup
(:func:`storage.near_index.lookup`, a SQLAlchemy session as a worker has). The scratch
database is dropped at the end. At 10 M the nine indexes take ~4.5 GB: give the server
shared buffers that hold them (the README shows a private server with ``shared_buffers=6GB``),
else part of each lookup is read from the page cache.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import skimage
from PIL import Image, ImageOps
from sqlalchemy import Index, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.postgres import scratch_database, server_url
from evidence.duplicates import PerceptualHashes
from storage import near_index
from storage.db import build_engine
from storage.models import PerceptualHashRow
from workers.phash import perceptual_hashes

RESULTS = Path(__file__).parent / "results" / "near_dup_lookup.md"
RESULTS_QUICK = Path(__file__).parent / "results" / "near_dup_lookup.quick.md"
PHOTOS = Path(skimage.__file__).parent / "data"
PLANTED = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png")
_COLUMNS = (
    "evidence_id",
    "phash",
    "dhash",
    "dhash_vertical",
    *(f"band_{band}" for band in range(near_index.BAND_COUNT)),
)


@dataclass(frozen=True)
class Latency:
    """Per-query wall time (and this process's CPU time) over a run."""

    label: str
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_p50_ms: float
    queries: int
    note: str

    @classmethod
    def of(cls, label: str, wall_ms: np.ndarray, cpu_ms: np.ndarray, note: str) -> Latency:
        """Summarise per-query times."""
        return cls(
            label,
            float(np.percentile(wall_ms, 50)),
            float(np.percentile(wall_ms, 99)),
            float(wall_ms.max()),
            float(np.percentile(cpu_ms, 50)),
            len(wall_ms),
            note,
        )


def random_words(rng: np.random.Generator, count: int, photo_like: bool) -> np.ndarray:
    """Random 64-bit hashes: uniform, or photo-like (each bit set with probability ~0.34).

    Photo-like hashes differ in 28.9 +- 4.0 bits, as unrelated real photos do, and are a
    harsh case for bands: their band values crowd towards few set bits, so the buckets a
    query probes hold more rows than uniform ones (real hashes are thresholded at their
    median, ~32 of 64 bits set, which spreads them more evenly).
    """
    words = [rng.integers(0, 2**64, count, dtype=np.uint64) for _ in range(5 if photo_like else 1)]
    if not photo_like:
        return words[0]
    # P(a & b) + P(c & d & e) - P(both) = 1/4 + 1/8 - 1/32 = 0.344
    return (words[0] & words[1]) | (words[2] & words[3] & words[4])


def band_columns(words: np.ndarray) -> list[np.ndarray]:
    """The bands of a column of hashes, as :func:`storage.near_index.hash_bands` cuts them."""
    out, shift = [], 64
    for width in near_index.BAND_WIDTHS:
        shift -= width
        out.append(((words >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int64))
    return out


def copy_rows(ids: np.ndarray, hashes: list[np.ndarray]) -> bytes:
    """Rows of ``perceptual_hashes`` in PostgreSQL's binary COPY format (no header)."""
    bands = [band for words in hashes for band in band_columns(words)]
    fields: list[tuple[str, str]] = [("count", ">i2")]
    types = ["i4"] + ["i8"] * 3 + ["i4"] * near_index.BAND_COUNT
    for k, kind in enumerate(types):
        fields += [(f"len{k}", ">i4"), (f"val{k}", ">" + kind)]
    rows = np.empty(len(ids), dtype=np.dtype(fields))
    rows["count"] = len(types)
    values = [ids] + [words.view(np.int64) for words in hashes] + bands
    for k, (kind, column) in enumerate(zip(types, values, strict=True)):
        rows[f"len{k}"] = 4 if kind == "i4" else 8
        rows[f"val{k}"] = column
    return rows.tobytes()


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def planted_copies() -> list[tuple[PerceptualHashes, PerceptualHashes]]:
    """(stored original, query copy) for a few real photos and recycled copies of them."""
    copies = []
    for name in PLANTED:
        with Image.open(PHOTOS / name) as opened:
            original = opened.convert("RGB")
        w, h = original.size
        variants = (
            jpeg(original.resize((w // 2, h // 2)), 60),
            ImageOps.mirror(original),
            original.crop((w // 25, h // 25, w, h)),
            ImageOps.expand(original, border=(0, h // 4), fill="black"),
        )
        stored = perceptual_hashes(original)
        copies += [(stored, perceptual_hashes(v)) for v in variants]
    return copies


def load(
    engine: Engine, size: int, photo_like: bool, rng: np.random.Generator
) -> tuple[float, float, list[tuple[int, PerceptualHashes]]]:
    """Fill the table with ``size`` random photos and the planted ones; (COPY s, index s)."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE perceptual_hashes"))
        conn.execute(
            text(
                "ALTER TABLE perceptual_hashes "
                "DROP CONSTRAINT IF EXISTS perceptual_hashes_evidence_id_fkey"
            )
        )
        for index in band_indexes():
            conn.execute(text(f"DROP INDEX IF EXISTS {index.name}"))
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        statement = f"COPY perceptual_hashes ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        with cursor.copy(statement) as copy:
            copy.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") * 2)
            batch = 1_000_000
            for first in range(0, size, batch):
                count = min(batch, size - first)
                ids = np.arange(first + 1, first + count + 1, dtype=np.int64)
                words = [random_words(rng, count, photo_like) for _ in range(3)]
                copy.write(copy_rows(ids, words))
            copy.write((-1).to_bytes(2, "big", signed=True))
        raw.commit()
    finally:
        raw.close()
    copy_s = time.perf_counter() - started
    planted = []
    with Session(engine) as session, session.begin():
        # planted originals: registered the way a worker registers a photo
        for offset, (stored, _) in enumerate(planted_copies()[::4]):
            evidence_id = size + 1 + offset
            near_index.register(session, evidence_id, stored)
            planted.append((evidence_id, stored))
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SET maintenance_work_mem = '1GB'"))
        for index in band_indexes():  # the product's own definitions (covering, on PostgreSQL)
            index.create(conn)
        # the visibility map marks every page all-visible: index-only scans skip the table
        conn.execute(text("VACUUM ANALYZE perceptual_hashes"))
    index_s = time.perf_counter() - started
    prewarm(engine)
    return copy_s, index_s, planted


def band_indexes() -> list[Index]:
    """The band indexes of ``perceptual_hashes`` as the product's model defines them."""
    indexes = PerceptualHashRow.__table__.indexes  # type: ignore[attr-defined]
    return sorted(
        (index for index in indexes if index.name.startswith("ix_perceptual_hashes_band_")),
        key=lambda index: index.name,
    )


def prewarm(engine: Engine) -> None:
    """Read the table, then the band indexes, into shared buffers, as steady use would.

    The indexes come last: they are all a lookup reads (index-only scans), and they are what
    should stay when shared buffers cannot hold both.
    """
    relations = ["perceptual_hashes"] + [index.name for index in band_indexes()]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        for relation in relations:
            conn.execute(text("SELECT pg_prewarm(CAST(:r AS regclass))"), {"r": relation})


def timed_lookups(
    session: Session, queries: list[PerceptualHashes]
) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """Wall and CPU milliseconds per lookup, and the ids each found."""
    for query in queries[:20]:  # warm caches
        near_index.lookup(session, query)
    wall, cpu, found = [], [], []
    for query in queries:
        start, start_cpu = time.perf_counter(), time.thread_time()
        matches = near_index.lookup(session, query)
        cpu.append(time.thread_time() - start_cpu)
        wall.append(time.perf_counter() - start)
        found.append([match.evidence_id for match in matches])
    return np.array(wall) * 1000, np.array(cpu) * 1000, found


def random_queries(
    rng: np.random.Generator, count: int, photo_like: bool
) -> list[PerceptualHashes]:
    """Query hashes (and mirror-image hashes) drawn like the stored ones."""
    words = np.stack([random_words(rng, count, photo_like) for _ in range(6)], axis=1).tolist()
    return [PerceptualHashes(*w) for w in words]


def throughput(engine: Engine, queries: list[PerceptualHashes], threads: int) -> float:
    """Lookups per second with ``threads`` workers, each with its own session."""
    share = len(queries) // threads

    def run(part: list[PerceptualHashes]) -> None:
        with Session(engine) as session:
            for query in part:
                near_index.lookup(session, query)

    workers = [
        threading.Thread(target=run, args=(queries[i * share : (i + 1) * share],))
        for i in range(threads)
    ]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return share * threads / (time.perf_counter() - start)


def registration_ms(engine: Engine, rng: np.random.Generator, count: int) -> np.ndarray:
    """Milliseconds to register one photo and commit, with the nine indexes to maintain."""
    times = []
    base = 2_000_000_000 - count
    for k, words in enumerate(random_queries(rng, count, photo_like=False)):
        start = time.perf_counter()
        with Session(engine) as session, session.begin():
            near_index.register(session, base + k, words)
        times.append(time.perf_counter() - start)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM perceptual_hashes WHERE evidence_id >= :b"), {"b": base})
    return np.array(times) * 1000


def rss_mb() -> float:
    """Resident memory of this process."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def sizes_mb(engine: Engine) -> tuple[float, float]:
    """(table, its indexes) in MB."""
    with engine.connect() as conn:
        table, indexes = conn.execute(
            text("SELECT pg_table_size('perceptual_hashes'), pg_indexes_size('perceptual_hashes')")
        ).one()
    return table / 2**20, indexes / 2**20


def heap_fetches(node: dict[str, Any]) -> int:
    """Table pages an EXPLAIN ANALYZE plan's index-only scans had to visit, over its nodes."""
    return int(node.get("Heap Fetches", 0)) + sum(heap_fetches(n) for n in node.get("Plans", []))


def server_work(
    engine: Engine, queries: list[PerceptualHashes]
) -> tuple[float, float, float, float]:
    """(mean shared blocks, p50 ms, p99 ms, mean heap fetches) of the lookup's statement.

    From EXPLAIN (ANALYZE, BUFFERS) of the product's statement with the query's values, in a
    transaction set as the lookup sets it: the pages touched say what the lookup costs
    whatever else runs on the machine.
    """
    blocks, times, fetches = [], [], []
    with engine.connect() as conn:
        conn.execute(near_index.SERIAL)
        for query in queries:
            sql = near_index.literal_lookup(query, engine.dialect)
            (plan,) = conn.execute(
                text(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
            ).scalar_one()
            top = plan["Plan"]
            blocks.append(top["Shared Hit Blocks"] + top["Shared Read Blocks"])
            times.append(plan["Execution Time"])
            fetches.append(heap_fetches(top))
    return (
        float(np.mean(blocks)),
        float(np.percentile(times, 50)),
        float(np.percentile(times, 99)),
        float(np.mean(fetches)),
    )


def server_cpu_ms(engine: Engine, queries: list[PerceptualHashes]) -> float | None:
    """CPU milliseconds the server's backend spends per lookup; None for a remote server.

    Read from /proc: unlike wall time, what other work on the machine does not inflate.
    """
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        stat = Path(f"/proc/{pid}/stat")
        if not stat.exists():
            return None
        session = Session(bind=conn)
        near_index.lookup(session, queries[0])

        def ticks() -> int:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime

        before = ticks()
        for query in queries:
            near_index.lookup(session, query)
        spent = ticks() - before
        session.close()
    return spent / os.sysconf("SC_CLK_TCK") * 1000 / len(queries)


def mean_candidates(session: Session, queries: list[PerceptualHashes]) -> float:
    """Rows the bands let through per lookup, before the policy's filter."""
    return float(np.mean([near_index.candidate_count(session, q) for q in queries]))


def measure(
    engine: Engine, size: int, query_count: int, photo_like: bool, rng: np.random.Generator
) -> dict[str, Any]:
    """Load ``size`` random photos plus planted ones, then time lookups and registrations."""
    copy_s, index_s, planted = load(engine, size, photo_like, rng)
    table_mb, index_mb = sizes_mb(engine)
    copies = planted_copies()
    queries = random_queries(rng, query_count, photo_like)
    rss_before, load_before = rss_mb(), os.getloadavg()[0]
    with Session(engine) as session:
        random_ms, random_cpu, random_found = timed_lookups(session, queries)
        planted_queries = [copy for _, copy in copies] * max(1, query_count // (2 * len(copies)))
        planted_ms, planted_cpu, _ = timed_lookups(session, planted_queries)
        originals = [evidence_id for evidence_id, _ in planted for _ in range(4)]
        found_right = sum(
            1
            for original, (_, copy) in zip(originals, copies, strict=True)
            if original in [m.evidence_id for m in near_index.lookup(session, copy, limit=3)]
        )
        candidates = mean_candidates(session, queries[:100])
    blocks, server_p50, server_p99, fetches = server_work(engine, queries[:200])
    server_cpu = server_cpu_ms(engine, queries)
    load_after = os.getloadavg()[0]
    rss_after = rss_mb()
    rss_growth = rss_after - rss_before
    latencies = [
        Latency.of(
            "random photo (no match expected)",
            random_ms,
            random_cpu,
            f"{sum(1 for f in random_found if f)} found a match",
        ),
        Latency.of(
            "recycled copy of a planted photo",
            planted_ms,
            planted_cpu,
            f"{found_right}/{len(copies)} copies found their original",
        ),
    ]
    qps = {
        threads: throughput(engine, random_queries(rng, 400, photo_like), threads)
        for threads in (1, 2)
    }
    return {
        "stored": "photo-like" if photo_like else "uniform",
        "size": size + len(planted),
        "copy_s": copy_s,
        "index_s": index_s,
        "table_mb": table_mb,
        "index_mb": index_mb,
        "rss_mb": rss_growth,
        "rss_after_mb": rss_after,
        "load": (load_before, load_after),
        "candidates": candidates,
        "blocks": blocks,
        "heap_fetches": fetches,
        "server_cpu_ms": server_cpu,
        "server_ms": (server_p50, server_p99),
        "latencies": latencies,
        "qps": qps,
        "register_ms": registration_ms(engine, rng, 200),
    }


def server_settings(engine: Engine) -> str:
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
        buffers = conn.execute(text("SHOW shared_buffers")).scalar_one()
    return f"PostgreSQL {version} (shared_buffers {buffers}, the rest of the RAM as page cache)"


def report(results: list[dict[str, Any]], quick: bool, elapsed_s: float, server: str) -> str:
    """The results as markdown."""
    lines = [
        "# Near-duplicate lookup in PostgreSQL: latency, sizes, memory",
        "",
        "Command: `.venv/bin/python -m bench.near_dup_lookup"
        + (" --quick`" if quick else "`")
        + f" ({elapsed_s:.0f} s)",
        f"Machine: {os.cpu_count()} cores (shared with other work), {server}, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "Stored: random fingerprints (three 64-bit hashes each), *uniform* or *photo-like* "
        "(bits set with probability 0.34: unrelated hashes differ in 29 +- 4 bits as unrelated "
        "real photos do, and band values crowd, so buckets are fuller than real ones), plus 5 "
        "real skimage photos registered among them and queried with 4 recycled copies each "
        "(resized + JPEG q60, mirrored, cropped 4 %, letterboxed). Each lookup is "
        "`storage.near_index.lookup` through a SQLAlchemy session: 402 band values probed for "
        "the photo and its mirror image, one index-only scan of each band's covering index "
        "(UNION ALL), rows filtered by the policy in the index, survivors confirmed in Python. "
        "Wall time includes the round trip and the client's CPU; the load average of the "
        "machine is given per size.",
        "",
        "| stored | kind | query | p50 ms | p99 ms | max ms | client CPU p50 ms | queries | "
        "result | load average |",
        "|---:|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for result in results:
        for latency in result["latencies"]:
            lines.append(
                f"| {result['size']:,} | {result['stored']} | {latency.label} | "
                f"{latency.p50_ms:.2f} | {latency.p99_ms:.2f} | {latency.max_ms:.2f} | "
                f"{latency.cpu_p50_ms:.2f} | {latency.queries} | {latency.note} | "
                f"{result['load'][0]:.1f} → {result['load'][1]:.1f} |"
            )
    lines += [
        "",
        "Server side (EXPLAIN ANALYZE of the same statement with the query's values, 200 "
        "random photos): pages touched, table pages visited (heap fetches: 0 when the "
        "visibility map says every page is all-visible) and execution time; and the CPU time "
        "of the server's backend over the lookups above, read from /proc, which other work on "
        "the machine inflates least.",
        "",
        "| stored | kind | pages touched per lookup | heap fetches per lookup | server p50 ms | "
        "server p99 ms | server CPU ms per lookup (mean) |",
        "|---:|---|---:|---:|---:|---:|---:|",
        *(
            f"| {r['size']:,} | {r['stored']} | {r['blocks']:,.0f} | {r['heap_fetches']:.1f} | "
            f"{r['server_ms'][0]:.2f} | {r['server_ms'][1]:.2f} | "
            + (f"{r['server_cpu_ms']:.2f}" if r["server_cpu_ms"] is not None else "remote")
            + " |"
            for r in results
        ),
        "",
        "| stored | kind | rows through the bands per lookup | table MB | 9 band indexes MB "
        "| COPY s | index build s | RSS growth over the lookups MB | RSS after MB | lookups/s, 1 "
        "session | lookups/s, 2 sessions | register + commit p50 / p99 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        qps, register = result["qps"], result["register_ms"]
        lines.append(
            f"| {result['size']:,} | {result['stored']} | {result['candidates']:,.0f} | "
            f"{result['table_mb']:,.0f} | {result['index_mb']:,.0f} | {result['copy_s']:.0f} | "
            f"{result['index_s']:.0f} | {result['rss_mb']:.1f} | {result['rss_after_mb']:.0f} | "
            f"{qps[1]:.0f} | {qps[2]:.0f} | "
            f"{np.percentile(register, 50):.2f} / {np.percentile(register, 99):.2f} |"
        )
    lines += [
        "",
        "A worker holds no hashes: its memory does not grow with the number stored (the RSS "
        "of this process, which looks up as a worker does, over the lookups and after them). "
        "The table and its indexes live in the database; for the lookup to stay in the "
        "milliseconds its band indexes must stay in the server's RAM (shared buffers or page "
        "cache); the table is read only by registrations.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and write its report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100 k and 1 M only, fewer queries")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a scratch database is made)")
    parser.add_argument("--sizes", help="comma-separated counts of stored photos instead")
    parser.add_argument(
        "--kinds", default="uniform,photo-like", help="which random hashes: uniform,photo-like"
    )
    args = parser.parse_args()
    sizes: tuple[int, ...] = (100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000)
    if args.sizes:
        sizes = tuple(int(size) for size in args.sizes.split(","))
    kinds = [kind == "photo-like" for kind in args.kinds.split(",")]
    queries = 300 if args.quick else 1000
    rng = np.random.default_rng(2024)
    # the bench's band columns must be the product's
    sample = random_words(rng, 50, photo_like=False)
    assert [list(c) for c in zip(*band_columns(sample), strict=True)] == [
        list(near_index.hash_bands(int(v))) for v in sample
    ]
    started = time.perf_counter()
    with scratch_database(server_url(args.postgres)) as url:
        engine = build_engine(url)
        server = server_settings(engine)
        results = [
            measure(engine, size, queries, photo_like, rng)
            for size in sizes
            for photo_like in kinds
        ]
        engine.dispose()
    text_ = report(results, args.quick, time.perf_counter() - started, server)
    print(text_)
    if args.sizes or args.kinds != "uniform,photo-like":
        return  # a partial run: printed, not written over the report
    path = RESULTS_QUICK if args.quick else RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text_)


if __name__ == "__main__":
    main()
