"""The storage admin's usage at a province's scale: time and memory of ``usage()`` per dimension.

Run ``.venv/bin/python -m bench.usage_scale [--sizes 200000,1000000] [--postgres URL]
[--before DIR]``. Writes ``bench/results/usage_scale.md`` and prints it.

For each size it makes a scratch database on the PostgreSQL server (``--postgres``, else
``BUKTI_TEST_POSTGRES_URL``, else ``BUKTI_DATABASE_URL``), migrates it and fills it in the
server (``INSERT ... SELECT`` over ``generate_series``, with the product's indexes in place):
a hundred items a teacher, 25 teachers a school, items received over a year; per item its
original, its rendition or sanitised copy and its preview or poster (YouTube links have no
copy); one item in 40 the same photo as the item before it, sent by another teacher (its
original and rendition shared); a third of photos' originals released by retention and
removed; then ``VACUUM ANALYZE``, as autovacuum leaves a settled archive. The database is
dropped at the end.

Each measurement runs ``storage.usage.usage`` in a fresh Python process (the API's process
in small), as the storage admin's page calls it: wall time, the process's own CPU time (the
rest is the database server's) and its peak memory over what it held before the call (Linux's
``VmHWM`` less ``VmRSS``). With ``--before DIR``, a checkout of the code before (a worktree
of an earlier commit) is measured the same way on the same data, dimension by dimension in
turns with this code, and the figures of both are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.postgres import scratch_database
from storage.usage import DIMENSIONS

RESULTS = Path(__file__).parent / "results" / "usage_scale.md"
HERE = Path(__file__).resolve().parent.parent

#: one measurement, run with the code under test first on ``sys.path``
MEASURE = """
import json, sys, time
from pathlib import Path
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from storage.usage import usage

def status_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)

url, by = sys.argv[1:3]
engine = create_engine(url)
with Session(engine) as session:
    session.execute(text("SELECT 1"))
    before_kb = status_kb("VmRSS")
    start, start_cpu = time.perf_counter(), time.process_time()
    rows, total = usage(session, by)
    wall_s, cpu_s = time.perf_counter() - start, time.process_time() - start_cpu
figures = [row.to_json() for row in rows] + [total.to_json()]
print(json.dumps({"wall_s": wall_s, "cpu_s": cpu_s, "rows": len(rows),
                  "peak_mb": (status_kb("VmHWM") - before_kb) / 1024, "figures": figures}))
"""

FILL = [
    """INSERT INTO schools (id, name, lat, lon, radius_m, timezone, created_at)
       SELECT s, 'SMAN ' || s, -6.9, 107.6, 150, 'Asia/Jakarta', now()
       FROM generate_series(1, :schools) s""",
    """INSERT INTO teachers (id, nip, name, school_id, created_at)
       SELECT t, lpad(t::text, 18, '0'), 'Guru ' || t, 1 + (t - 1) % :schools, now()
       FROM generate_series(1, :teachers) t""",
    """INSERT INTO users (id, name, role, teacher_id, is_active, created_at)
       SELECT t, 'Guru ' || t, 'teacher', t, true, now() FROM generate_series(1, :teachers) t""",
    # g % 20: 0-13 photos, 14-16 documents, 17-18 videos (a monthly requirement), 19 YouTube
    """INSERT INTO evidence (id, teacher_id, uploaded_by, kind, mime, status, received_at,
                             sha256, original_bytes, local_date, month)
       SELECT g, t, t, k, 'application/octet-stream', 'accepted', r, md5(g::text) || md5(g::text),
              300000 + (g::bigint * 2654435761) % 4000000,
              CASE WHEN g % 10 < 8 THEN CAST(r AT TIME ZONE 'Asia/Jakarta' AS DATE) END,
              CASE WHEN k = 'video' THEN to_char(r AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM') END
       FROM (SELECT g, 1 + (g::bigint * 7919) % :teachers AS t,
                    CASE WHEN g % 20 < 14 THEN 'photo' WHEN g % 20 < 17 THEN 'document'
                         WHEN g % 20 < 19 THEN 'video' ELSE 'youtube' END AS k,
                    timestamptz '2026-01-01 00:00+07' + (g::bigint * 31536 / :items) * interval '1000 s'
                    AS r
             FROM generate_series(1, :items) g) items""",
    # objects 1..N originals, N+1..2N renditions (sanitised copies), 2N+1..3N previews (posters)
    """INSERT INTO archive_objects (id, key, klass, size_bytes, sha256, created_at, removed_at)
       SELECT e.id + c.n * :items, c.klass || '/' || e.id, c.klass,
              CASE c.n WHEN 0 THEN e.original_bytes WHEN 1 THEN e.original_bytes / 7
                       ELSE 20000 + e.id % 30000 END,
              e.sha256, e.received_at,
              CASE WHEN c.n = 0 AND e.kind = 'photo' AND (e.id / 20) % 3 = 0 AND e.id % 40 <> 0
                   THEN e.received_at + interval '180 days' END
       FROM evidence e
       CROSS JOIN LATERAL (VALUES
           (0, 'original'),
           (1, CASE e.kind WHEN 'document' THEN 'sanitised' ELSE 'rendition' END),
           (2, CASE e.kind WHEN 'video' THEN 'poster' ELSE 'preview' END)) AS c (n, klass)
       WHERE e.kind <> 'youtube'""",
    # one item in 40 (a photo) is the photo before it sent again by another teacher: one
    # original and rendition for both
    """INSERT INTO evidence_objects (evidence_id, object_id, created_at, released_at)
       SELECT o.id % :items + CASE WHEN o.id % :items = 0 THEN :items ELSE 0 END, o.id,
              o.created_at, o.removed_at
       FROM archive_objects o""",
    """UPDATE evidence_objects SET object_id = object_id - 1
       WHERE evidence_id % 40 = 1 AND evidence_id > 1 AND object_id <= 2 * :items""",
    # an archive that has settled: autovacuum has set the visibility map and the statistics
    "VACUUM ANALYZE",
]


def fill(url: str, items: int) -> dict[str, float]:
    """The archive of ``items`` items; the time it took and the rows it made."""
    teachers = max(10, items // 100)
    params = {"items": items, "teachers": teachers, "schools": max(2, teachers // 25)}
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in FILL[:-1]:
            conn.execute(text(statement), params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(FILL[-1]))
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("schools", "teachers", "evidence", "archive_objects", "evidence_objects")
        }
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return {**counts, "fill_s": time.perf_counter() - started, "database_mb": size / 2**20}


def measure(url: str, by: str, code: Path) -> dict[str, object]:
    """``usage(session, by)`` in a fresh process importing the product from ``code``."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, url, by],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def report(sizes: list[int], runs: dict[int, dict[str, object]], before: Path | None) -> str:
    """The results as Markdown."""
    lines = [
        "# Usage at scale: `usage()` per dimension on PostgreSQL",
        "",
        f"`.venv/bin/python -m bench.usage_scale --sizes {','.join(map(str, sizes))}"
        + (" --before DIR`" if before else "`")
        + f"; {platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end. Each figure is one call in a fresh process: "
        "wall time, the process's CPU (the rest is the database server's), its peak memory "
        "over what it held before the call.",
        "",
    ]
    for size in sizes:
        run = runs[size]
        archive, first = run["archive"], run[DIMENSIONS[0]]
        assert isinstance(archive, dict) and isinstance(first, dict)
        total = first["figures"][-1]
        lines += [
            f"## {size:,} items",
            "",
            f"{archive['teachers']:,} teachers in {archive['schools']:,} schools; "
            f"{archive['archive_objects']:,} objects, {archive['evidence_objects']:,} links; "
            f"database {archive['database_mb']:,.0f} MB, filled in {archive['fill_s']:.0f} s.",
            "",
            "The total: "
            + ", ".join(f"{k} {v:,}" for k, v in total.items() if k not in ("group", "label")),
            "",
            "| by | groups | wall s | CPU s | peak MB |"
            + (" before: wall s | CPU s | peak MB | same figures |" if before else ""),
            "|---|---|---|---|---|" + ("---|---|---|---|" if before else ""),
        ]
        for by in DIMENSIONS:
            after = run[by]
            assert isinstance(after, dict)
            line = (
                f"| {by} | {after['rows']} | {after['wall_s']:.2f} | {after['cpu_s']:.2f} "
                f"| {after['peak_mb']:.1f} |"
            )
            old = run.get(f"before:{by}")
            if isinstance(old, dict):
                same = "yes" if old["figures"] == after["figures"] else "**no**"
                line += (
                    f" {old['wall_s']:.2f} | {old['cpu_s']:.2f} | {old['peak_mb']:.1f} | {same} |"
                )
            lines.append(line)
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    """Fill, measure and report each size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="200000,1000000", help="comma-separated item counts")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a scratch database is made)")
    parser.add_argument("--before", type=Path, help="a checkout of the code before, to compare")
    args = parser.parse_args()
    server = (
        args.postgres
        or os.environ.get("BUKTI_TEST_POSTGRES_URL")
        or os.environ.get("BUKTI_DATABASE_URL")
    )
    if not server:
        parser.error("give --postgres URL (or set BUKTI_TEST_POSTGRES_URL)")
    sizes = [int(size) for size in args.sizes.split(",")]
    runs: dict[int, dict[str, object]] = {}
    for size in sizes:
        with scratch_database(server) as url:
            run: dict[str, object] = {"archive": fill(url, size)}
            print(f"{size:,} items: {run['archive']}", flush=True)
            for by in DIMENSIONS:
                run[by] = measure(url, by, HERE)
                if args.before:
                    run[f"before:{by}"] = measure(url, by, args.before.resolve())
                print(f"  {by}: {run[by]}"[:200], flush=True)
            runs[size] = run
    markdown = report(sizes, runs, args.before)
    RESULTS.write_text(markdown + "\n")
    print(markdown)


if __name__ == "__main__":
    main()
