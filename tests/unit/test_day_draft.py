"""The TRK day draft: capture times clustered into padded, rounded, non-overlapping blocks."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from evidence.day_draft import ProposedBlock, propose_day

DAY = datetime(2026, 10, 13)


def at(hhmm: str, seconds: int = 0) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return DAY.replace(hour=hours, minute=minutes, second=seconds)


def spans(blocks: list[ProposedBlock]) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(f"{b.start:%H:%M}", f"{b.end:%H:%M}", b.evidence_ids) for b in blocks]


def test_no_photos_propose_nothing() -> None:
    assert propose_day({}) == []


def test_a_single_photo_gets_a_padded_block_rounded_to_5_min() -> None:
    # 07:12 - 15 min = 06:57, rounded down to 06:55; 07:27 rounded up to 07:30
    assert spans(propose_day({7: at("07:12")})) == [("06:55", "07:30", (7,))]


def test_block_edges_already_on_the_grid_stay_put() -> None:
    assert spans(propose_day({1: at("07:15")})) == [("07:00", "07:30", (1,))]


def test_photos_of_one_lesson_form_one_block() -> None:
    photos = {1: at("07:05"), 2: at("07:40"), 3: at("08:20")}
    assert spans(propose_day(photos)) == [("06:50", "08:35", (1, 2, 3))]


def test_a_gap_of_exactly_45_min_keeps_one_block() -> None:
    assert len(propose_day({1: at("07:00"), 2: at("07:45")})) == 1


def test_a_gap_over_45_min_starts_a_new_block() -> None:
    photos = {1: at("07:00"), 2: at("07:45", seconds=1)}
    assert spans(propose_day(photos)) == [("06:45", "07:15", (1,)), ("07:30", "08:05", (2,))]


def test_a_day_of_lessons_and_a_meeting() -> None:
    photos = {
        11: at("07:10"),
        12: at("07:55"),
        13: at("08:30"),
        21: at("10:15"),
        22: at("10:50"),
        31: at("13:40"),
    }
    assert spans(propose_day(photos)) == [
        ("06:55", "08:45", (11, 12, 13)),
        ("10:00", "11:05", (21, 22)),
        ("13:25", "13:55", (31,)),
    ]


def test_evidence_ids_follow_capture_order_then_id() -> None:
    photos = {9: at("07:20"), 3: at("07:05"), 5: at("07:20")}
    assert propose_day(photos)[0].evidence_ids == (3, 5, 9)


def test_gap_threshold_is_a_parameter() -> None:
    photos = {1: at("07:00"), 2: at("07:25")}
    assert len(propose_day(photos, gap_min=30)) == 1
    assert len(propose_day(photos, gap_min=20)) == 2


def test_padded_neighbours_meet_halfway_instead_of_overlapping() -> None:
    # 25 min apart with 15 min padding each: 06:45-07:15 and 07:10-07:40 would overlap
    photos = {1: at("07:00"), 2: at("07:25")}
    blocks = propose_day(photos, gap_min=20)
    assert spans(blocks) == [("06:45", "07:10", (1,)), ("07:10", "07:40", (2,))]


def test_meeting_point_off_the_grid_when_photos_are_closer_than_the_grid() -> None:
    photos = {1: at("07:01"), 2: at("07:04")}
    first, second = propose_day(photos, gap_min=2)
    assert first.end == second.start
    assert at("07:01") <= first.end <= at("07:04")


def test_padding_does_not_cross_midnight() -> None:
    early, late = propose_day({1: at("00:05"), 2: at("23:55")})
    assert early.start == at("00:00")
    assert late.end == at("23:59")


def test_aware_times_keep_their_zone() -> None:
    wib = ZoneInfo("Asia/Jakarta")
    (block,) = propose_day({1: at("07:12").replace(tzinfo=wib)})
    assert block.start == datetime(2026, 10, 13, 6, 55, tzinfo=wib)
    assert block.end.tzinfo is wib


def test_block_minutes() -> None:
    (block,) = propose_day({1: at("07:12")})
    assert block.minutes == 35


@pytest.mark.parametrize("seed", range(20))
def test_random_days_give_sorted_disjoint_blocks_holding_every_photo(seed: int) -> None:
    rng = random.Random(seed)
    photos = {
        evidence_id: at("06:00") + timedelta(seconds=rng.randrange(0, 11 * 3600))
        for evidence_id in range(rng.randrange(1, 40))
    }
    gap_min = rng.choice([5, 20, 45, 90])
    blocks = propose_day(photos, gap_min=gap_min)
    assert sorted(i for b in blocks for i in b.evidence_ids) == sorted(photos)
    for block in blocks:
        assert block.start < block.end
        assert all(block.start <= photos[i] <= block.end for i in block.evidence_ids)
    for earlier, later in pairwise(blocks):
        assert earlier.end <= later.start
        last = max(photos[i] for i in earlier.evidence_ids)
        first = min(photos[i] for i in later.evidence_ids)
        assert first - last > timedelta(minutes=gap_min)
    grid = [b.start for b in blocks] + [b.end for b in blocks]
    # every gap here is wider than the 5-minute grid, so even meeting points sit on it
    assert all(t.minute % 5 == 0 and t.second == 0 for t in grid)
