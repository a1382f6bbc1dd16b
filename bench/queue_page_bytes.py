"""What a reviewer's phone downloads for one page of the queue: the page and its pictures.

Run ``.venv/bin/python -m bench.queue_page_bytes [--photos 20]``. It builds the service in
this process as ``bench.job_profile`` does (SQLite, local disk, the default settings, a
scratch data directory), uploads 12 MP phone-like JPEGs (those of ``bench.e2e_throughput``),
runs the product's job on each, signs in as the school's reviewer through the sign-in form,
and fetches ``/review`` and every picture its ``<img>`` tags name, as a phone does that
scrolls the whole page (the pictures load lazily: a phone that stops half-way fetches less).
For the same rows it also fetches each photo's rendition, which is what the page showed
before the pipeline made thumbnails. Writes ``bench/results/queue_page_bytes.md``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from bench.e2e_throughput import ADMIN, camera_jpeg, publish, setup, upload, wallpapers
from bukti.bootstrap import Services
from bukti.settings import Settings
from storage.db import upgrade

RESULTS = Path(__file__).parent / "results" / "queue_page_bytes.md"
_PASSWORD = "bench-reviewer-password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_IMG_SRC = re.compile(r'<img [^>]*src="(/api/v1/evidence/(\d+)/[^"]+)"')


def sign_in_reviewer(client: TestClient) -> None:
    """A reviewer of the bench's school, signed in through the form as a browser does."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    [school] = client.get("/api/v1/schools", headers=admin).json()["items"]
    created = client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "name": "Koordinator TRK",
            "role": "reviewer",
            "school_id": school["id"],
            "login": "koordinator",
            "password": _PASSWORD,
        },
    )
    assert created.status_code == 201, created.text
    found = _CSRF.search(client.get("/sign-in").text)
    assert found, "the sign-in page has no CSRF token"
    signed_in = client.post(
        "/sign-in",
        data={"login": "koordinator", "password": _PASSWORD, "csrf_token": found.group(1)},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text


def measure(photos: list[bytes], root: Path) -> tuple[int, list[int], list[int]]:
    """The queue page's own bytes, then for each of its pictures the bytes served now and
    the bytes of the same item's rendition."""
    settings = Settings(data_dir=root / "data", admin_token=ADMIN)
    services = Services(settings)
    services.prepare_dirs()
    upgrade(settings.resolved_database_url)
    from workers import pipeline  # the job, as a worker process imports it

    app = create_app(settings, services, enqueue=lambda *_args, **_kwargs: None, sweep=False)
    with TestClient(app) as client:
        auth, activities = setup(client, len(photos))
        for activity_id, photo in zip(activities, photos, strict=True):
            pipeline.process_evidence(services, upload(client, auth, activity_id, photo))
        sign_in_reviewer(client)
        page = client.get("/review")
        assert page.status_code == 200, page.text
        shown, renditions = [], []
        for src, evidence_id in _IMG_SRC.findall(page.text):
            shown.append(len(client.get(src).content))
            renditions.append(len(client.get(f"/api/v1/evidence/{evidence_id}/rendition").content))
    services.close()
    return len(page.content), shown, renditions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=20, help="20 fill the queue's first page")
    parser.add_argument("--quality", type=int, default=97, help="JPEG quality (97: ~3 MB)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    sources = wallpapers()
    photos = [camera_jpeg(sources[i % len(sources)], i, args.quality) for i in range(args.photos)]
    with tempfile.TemporaryDirectory() as scratch:
        html, shown, renditions = measure(photos, Path(scratch))
    if not shown:
        raise SystemExit("the queue showed no pictures: did the photos end flagged?")
    before, after = html + sum(renditions), html + sum(shown)
    lines = [
        f"`.venv/bin/python -m bench.queue_page_bytes --photos {args.photos} --quality "
        f"{args.quality}` ({time.strftime('%Y-%m-%d')}): the first page of a reviewer's queue "
        f"after the job of {args.photos} 12 MP phone-like JPEGs, {len(shown)} rows with a picture.",
        "",
        "| what the phone downloads | bytes | per picture (median) |",
        "|---|---:|---:|",
        f"| the page's HTML (uncompressed) | {html:,} | |",
        f"| its pictures now (thumbnails) | {sum(shown):,} | {statistics.median(shown):,.0f} |",
        f"| the same rows' renditions (the pictures before) | {sum(renditions):,} "
        f"| {statistics.median(renditions):,.0f} |",
        f"| **a page with its pictures, now** | **{after:,}** | |",
        f"| **the same page before** | **{before:,}** | |",
        "",
        f"Now {after / before:.1%} of the bytes before ({before / after:.0f}x fewer).",
    ]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
