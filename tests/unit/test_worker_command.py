"""How promptly an idle worker looks at its queues."""

from __future__ import annotations

from pathlib import Path

from bukti.settings import Settings
from workers.broker import build_broker


def test_idle_consumers_look_at_their_queue_as_often_as_the_setting_says(tmp_path: Path) -> None:
    # Dramatiq's worker asks for a 1 s timeout, and an idle consumer backs off up to it
    # between fetches: an upload to idle workers waited half a second on average
    settings = Settings(data_dir=tmp_path, worker_poll_ms=100, redis_url="redis://127.0.0.1:1/0")
    broker = build_broker(settings)
    consumer = broker.consume("evidence", prefetch=1, timeout=1000)
    assert consumer.timeout == 100  # type: ignore[attr-defined]
    quick = broker.consume("evidence", prefetch=1, timeout=50)
    assert quick.timeout == 50  # type: ignore[attr-defined]


def test_only_the_queue_uploads_arrive_on_is_polled_that_often(tmp_path: Path) -> None:
    # each poll costs a worker CPU: six consumers at 100 ms were ~2 ms of CPU per photo
    settings = Settings(data_dir=tmp_path, worker_poll_ms=100, redis_url="redis://127.0.0.1:1/0")
    broker = build_broker(settings)
    for queue in ("evidence.DQ", "evidence_video", "evidence_video.DQ", "storage"):
        assert broker.consume(queue, prefetch=1, timeout=1000).timeout == 1000  # type: ignore[attr-defined]
