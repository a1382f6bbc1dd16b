"""Document and video near-duplicate lookup in PostgreSQL: rows read, milliseconds, sizes.

Run ``.venv/bin/python -m bench.signature_lookup [--documents N] [--videos N] [--postgres URL]``
(defaults: 100 k documents and 20 k one-minute videos, about two minutes). Prints a Markdown
table; ``bench/results/signature_lookup.md`` keeps a run.

It makes a scratch database on the server (``--postgres``, else ``BUKTI_TEST_POSTGRES_URL``,
else ``BUKTI_DATABASE_URL``, as ``bench.near_dup_lookup`` does), drops the table's foreign key
(the rows point at no items) and COPYs in the keys of random text signatures and random
videos, computed by the product (:mod:`storage.signature_index`). Each lookup is the product's
own (:func:`storage.signature_index.lookup`, through a SQLAlchemy session) for the signature
of a copy of a stored item: one page of twenty changed, or re-encoded (2 bits a frame hash)
and trimmed by 3 s. The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.postgres import scratch_database, server_url
from evidence.text_duplicates import PERMUTATIONS, TextSignature
from evidence.video_duplicates import FrameHash, VideoHashes
from storage import signature_index
from storage.db import build_engine


def random_text(rng: random.Random) -> TextSignature:
    return TextSignature(tuple(rng.getrandbits(32) for _ in range(PERMUTATIONS)), 1000)


def text_copy(signature: TextSignature, rng: random.Random) -> TextSignature:
    """About 0.9 of the values kept, as one page of twenty changed leaves them."""
    values = [v if rng.random() < 0.9 else rng.getrandbits(32) for v in signature.minhashes]
    return TextSignature(tuple(values), signature.shingle_count)


def random_video(rng: random.Random, frames: int = 120) -> VideoHashes:
    return VideoHashes(
        2.0, tuple(FrameHash(rng.getrandbits(64), rng.getrandbits(64)) for _ in range(frames))
    )


def video_copy(video: VideoHashes, rng: random.Random) -> VideoHashes:
    def flip(value: int) -> int:
        for bit in rng.sample(range(64), 2):
            value ^= 1 << bit
        return value

    frames = [FrameHash(flip(f.phash), flip(f.dhash)) for f in video.frames if f is not None]
    return VideoHashes(video.samples_per_s, tuple(frames[6:]))


def load(engine: Engine, keys: list[tuple[int, frozenset[int]]]) -> float:
    """COPY every item's keys in; seconds taken (with the primary key kept up to date)."""
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy("COPY signature_keys (key, evidence_id) FROM STDIN") as copy:
            for evidence_id, item_keys in keys:
                copy.write("".join(f"{k}\t{evidence_id}\n" for k in item_keys))
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE signature_keys"))
    return time.perf_counter() - started


def measure(engine: Engine, queries: list[frozenset[int]], planted: list[int]) -> dict[str, Any]:
    """Rows read, lookup milliseconds (p50, p99) and recall over the queries."""
    wall, rows, found = [], [], 0
    with Session(engine) as session:
        for probed in queries[:20]:
            signature_index.lookup(session, probed)
        for probed, original in zip(queries, planted, strict=True):
            start = time.perf_counter()
            candidates = signature_index.lookup(session, probed)
            wall.append((time.perf_counter() - start) * 1000)
            rows.append(signature_index.rows_read(session, probed))
            found += original in [evidence_id for evidence_id, _ in candidates]
    return {
        "rows": float(np.mean(rows)),
        "p50": float(np.percentile(wall, 50)),
        "p99": float(np.percentile(wall, 99)),
        "recall": found / len(queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--videos", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--postgres")
    options = parser.parse_args()
    rng = random.Random(15)
    texts = [random_text(rng) for _ in range(options.documents)]
    videos = [random_video(rng) for _ in range(options.videos)]
    keys = [(i + 1, signature_index.text_keys(s)) for i, s in enumerate(texts)]
    first_video = len(keys) + 1
    keys += [(first_video + i, signature_index.video_keys(v)) for i, v in enumerate(videos)]
    picked_texts = rng.sample(range(len(texts)), options.queries)
    picked_videos = rng.sample(range(len(videos)), options.queries)
    with scratch_database(server_url(options.postgres)) as url:
        engine = build_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text("ALTER TABLE signature_keys DROP CONSTRAINT signature_keys_evidence_id_fkey")
            )
        load_s = load(engine, keys)
        with engine.connect() as conn:
            table_mb, index_mb = (
                value / 2**20
                for value in conn.execute(
                    text(
                        "SELECT pg_table_size('signature_keys'), pg_indexes_size('signature_keys')"
                    )
                ).one()
            )
        results = {
            "documents": measure(
                engine,
                [signature_index.text_keys(text_copy(texts[i], rng)) for i in picked_texts],
                [i + 1 for i in picked_texts],
            ),
            "videos": measure(
                engine,
                [signature_index.video_keys(video_copy(videos[i], rng)) for i in picked_videos],
                [first_video + i for i in picked_videos],
            ),
        }
        engine.dispose()
    stored = sum(len(item_keys) for _, item_keys in keys)
    print(
        f"{options.documents:,} documents and {options.videos:,} videos: {stored:,} rows, "
        f"table {table_mb:.0f} MB + indexes {index_mb:.0f} MB, COPY and ANALYZE {load_s:.0f} s\n"
    )
    print("| lookup of a copy | rows read | p50 ms | p99 ms | original found |")
    print("|---|---:|---:|---:|---:|")
    for kind, result in results.items():
        print(
            f"| {kind} | {result['rows']:.1f} | {result['p50']:.2f} | {result['p99']:.2f} | "
            f"{result['recall']:.3f} |"
        )


if __name__ == "__main__":
    main()
