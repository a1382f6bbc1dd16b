"""The accuracy goals of issue #3, on the quick development set (scikit-image photos only).

The full set (wallpapers too) is scored by ``python -m bench.verification_accuracy``; CI runs
this subset: every photo is written with its scenario's EXIF, read back by the pipeline's
extract and hash steps, and verified with its records and its teacher's history.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.verification_accuracy import (
    CLEAN_GOAL,
    FAMILIES,
    PRECISION_GOAL,
    RECALL_GOAL,
    Evaluation,
    FamilyScore,
    report,
    run,
)

pytestmark = pytest.mark.integration

# Fewer expected flags than this and a family's recall says little.
MIN_POSITIVES = 3


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Evaluation, str]:
    """The quick development set, run once for all the tests of this module."""
    result = run(quick=True, workdir=Path(tmp_path_factory.mktemp("accuracy")), processes=1)
    return result.evaluation, report(result, quick=True)


def _family(evaluation: Evaluation, code: str) -> FamilyScore:
    return next(f for f in evaluation.families if f.code.value == code)


@pytest.mark.parametrize("code", [code.value for _, code in FAMILIES])
def test_each_photo_flag_meets_the_recall_and_precision_goals(
    quick_run: tuple[Evaluation, str], code: str
) -> None:
    evaluation, text = quick_run
    family = _family(evaluation, code)
    assert family.positives >= MIN_POSITIVES, f"too few {code} scenarios in the quick set"
    assert family.recall >= RECALL_GOAL, text
    assert family.precision >= PRECISION_GOAL, text


def test_clean_photos_are_accepted(quick_run: tuple[Evaluation, str]) -> None:
    evaluation, text = quick_run
    assert evaluation.clean >= 30
    assert evaluation.clean_share >= CLEAN_GOAL, text
