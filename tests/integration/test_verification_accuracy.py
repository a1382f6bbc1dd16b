"""The accuracy goals on the quick sets (scikit-image photos only): development and held-out.

The full sets (wallpapers too) are scored by ``python -m bench.verification_accuracy``; CI
runs these subsets: every photo is written with its scenario's EXIF, read back by the
pipeline's extract and hash steps, and verified with its records and its teacher's history;
every record day goes through the day rules with its selfies' capture times.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.verification_accuracy import (
    CLEAN_GOAL,
    FAMILIES,
    PRECISION_GOAL,
    RECALL_GOAL,
    RECORD_CODES,
    SPLITS,
    FamilyScore,
    Run,
    report,
    run,
)

pytestmark = pytest.mark.integration

# Fewer expected flags than this, over both quick sets, and a code's recall says little.
MIN_POSITIVES = 3


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Run], str]:
    """Both quick sets, run once for all the tests of this module."""
    workdir = Path(tmp_path_factory.mktemp("accuracy"))
    runs = [run(quick=True, workdir=workdir, processes=1, split=split) for split in SPLITS]
    return runs, report(runs, quick=True)


def _combined(runs: list[Run], code: str) -> FamilyScore:
    scores = [
        f for r in runs for f in [*r.evaluation.families, *r.evaluation.records] if f.code == code
    ]
    return FamilyScore(
        scores[0].family,
        scores[0].code,
        sum(f.positives for f in scores),
        sum(f.true_positives for f in scores),
        sum(f.false_positives for f in scores),
        sum(f.false_negatives for f in scores),
    )


@pytest.mark.parametrize("code", [c.value for _, c in FAMILIES] + [c.value for c in RECORD_CODES])
def test_each_flag_meets_the_recall_and_precision_goals(
    quick_runs: tuple[list[Run], str], code: str
) -> None:
    runs, text = quick_runs
    family = _combined(runs, code)
    assert family.positives >= MIN_POSITIVES, f"too few {code} scenarios in the quick sets"
    assert family.recall >= RECALL_GOAL, text
    assert family.precision >= PRECISION_GOAL, text


def test_clean_photos_are_accepted(quick_runs: tuple[list[Run], str]) -> None:
    runs, text = quick_runs
    for result in runs:
        assert result.evaluation.clean >= 20
        assert result.evaluation.clean_share >= CLEAN_GOAL, text


def test_the_sets_share_no_picture(quick_runs: tuple[list[Run], str]) -> None:
    runs, _ = quick_runs
    development, held_out = (
        {o.shot.job.path.parent.parent for o in r.evaluation.outcomes} for r in runs
    )
    assert development.isdisjoint(held_out)
    tiles = [
        {
            o.shot.job.recipe.tile.name.split("-")[0]
            for o in r.evaluation.outcomes
            if o.shot.job.recipe
        }
        for r in runs
    ]
    assert tiles[0] and tiles[1] and tiles[0].isdisjoint(tiles[1])
