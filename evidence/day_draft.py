"""The TRK day draft: a day's photos clustered by capture time into proposed activity blocks.

A teacher who photographs the day's work without logging it gets back time blocks with their
evidence attached, to name and confirm. Times are wall-clock times in the school's zone; the
caller converts capture instants before calling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta


@dataclass(frozen=True)
class ProposedBlock:
    """A proposed activity: a time block and the evidence that falls in it."""

    start: datetime
    end: datetime
    evidence_ids: tuple[int, ...]

    @property
    def minutes(self) -> int:
        """The block's length in whole minutes."""
        return int((self.end - self.start).total_seconds() // 60)


def propose_day(
    captured_times: Mapping[int, datetime],
    *,
    gap_min: float = 45,
    pad_min: float = 15,
    round_min: int = 5,
) -> list[ProposedBlock]:
    """Time blocks from capture times (evidence id -> local wall time), in order, never overlapping.

    A new block starts wherever two consecutive photos are more than ``gap_min`` apart: one
    lesson period (jam pelajaran) is 45 min, so photos of one lesson stay together. Each block
    is padded by ``pad_min`` on both sides (photos are taken during an activity, not at its
    edges) and rounded outwards to ``round_min`` minutes; where padding would make neighbours
    overlap, they meet halfway between their photos instead.
    """
    ordered = sorted(captured_times.items(), key=lambda pair: (pair[1], pair[0]))
    clusters: list[list[tuple[int, datetime]]] = []
    for evidence_id, moment in ordered:
        if clusters and moment - clusters[-1][-1][1] <= timedelta(minutes=gap_min):
            clusters[-1].append((evidence_id, moment))
        else:
            clusters.append([(evidence_id, moment)])
    pad = timedelta(minutes=pad_min)
    blocks: list[ProposedBlock] = []
    previous_last: datetime | None = None
    for cluster in clusters:
        first, last = cluster[0][1], cluster[-1][1]
        start = _floor(first - pad, round_min)
        end = _ceil(last + pad, round_min)
        # An activity belongs to one date: no padding past midnight on either side.
        start = max(start, datetime.combine(first.date(), time(0), tzinfo=first.tzinfo))
        end = min(end, _end_of_day(last))
        if blocks and previous_last is not None and blocks[-1].end > start:
            meet = _meeting_point(previous_last, first, round_min)
            blocks[-1] = ProposedBlock(blocks[-1].start, meet, blocks[-1].evidence_ids)
            start = meet
        blocks.append(ProposedBlock(start, end, tuple(evidence_id for evidence_id, _ in cluster)))
        previous_last = last
    return blocks


def _floor(moment: datetime, step_min: int) -> datetime:
    """The moment rounded down to a whole multiple of ``step_min`` minutes of the clock."""
    whole = moment.replace(second=0, microsecond=0)
    return whole - timedelta(minutes=whole.minute % step_min)


def _ceil(moment: datetime, step_min: int) -> datetime:
    """The moment rounded up to a whole multiple of ``step_min`` minutes of the clock."""
    floored = _floor(moment, step_min)
    return floored if floored == moment else floored + timedelta(minutes=step_min)


def _end_of_day(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(23, 59), tzinfo=moment.tzinfo)


def _meeting_point(last: datetime, first: datetime, step_min: int) -> datetime:
    """Where two blocks meet: the grid point nearest halfway between their photos, when one
    lies between them; else the whole minute (or the instant) halfway."""
    middle = last + (first - last) / 2
    below = _floor(middle, step_min)
    on_grid = [t for t in (below, below + timedelta(minutes=step_min)) if last <= t <= first]
    if on_grid:
        return min(on_grid, key=lambda t: abs(t - middle))
    whole_minute = _floor(middle, 1)
    return whole_minute if whole_minute >= last else middle
