"""The teacher's pages without a server: their words, and the day draft's form."""

from __future__ import annotations

from datetime import date, time

import pytest
from starlette.datastructures import FormData

from api.routes.days import DraftProposal, ProposedBlockOut
from api.web.i18n import Translator
from api.web.teacher.day import SPARE_BLOCKS, DraftForm, DraftFormError
from api.web.teacher.words import Words


def test_clock_times_are_written_as_the_language_writes_them_with_the_zone() -> None:
    assert Words(Translator("id")).clock(time(7, 5), "Asia/Jakarta") == "07.05 WIB"
    assert Words(Translator("en")).clock(time(7, 5), "Asia/Makassar") == "07:05 WITA"


def proposal() -> DraftProposal:
    return DraftProposal(
        date=date(2026, 10, 13),
        blocks=[
            ProposedBlockOut(start=time(6, 50), end=time(7, 55), minutes=65, evidence_ids=[1, 2]),
            ProposedBlockOut(start=time(9, 45), end=time(10, 35), minutes=50, evidence_ids=[3]),
        ],
        evidence_without_time=[4],
    )


def test_the_form_starts_from_the_proposal_with_a_spare_block() -> None:
    form = DraftForm.from_proposal(proposal())

    assert [(b.start, b.end) for b in form.blocks] == [
        ("06:50", "07:55"),
        ("09:45", "10:35"),
        *[("", "")] * SPARE_BLOCKS,
    ]
    assert form.assigned == {1: 0, 2: 0, 3: 1}
    assert form.minutes == 115


def test_the_sent_form_becomes_the_apis_confirmation() -> None:
    sent = FormData(
        [
            ("title_0", " Mengajar X TKJ 1 "),
            ("start_0", "06:50"),
            ("end_0", "07:55"),
            ("category_0", "teaching"),
            ("title_1", ""),
            ("start_1", ""),
            ("end_1", ""),
            ("category_1", ""),
            ("item_1", "0"),
            ("item_2", ""),
            ("item_9", "7"),
        ]
    )

    form = DraftForm.from_form(sent, [1, 2, 9])
    body = form.confirmation(Translator("en"))

    assert form.assigned == {1: 0}
    assert [(b.title, b.start, b.end, b.evidence_ids) for b in body.blocks] == [
        ("Mengajar X TKJ 1", time(6, 50), time(7, 55), [1])
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([("title_0", ""), ("start_0", "07:00"), ("end_0", "08:00"), ("item_1", "0")], "title"),
        ([("title_0", ""), ("start_0", ""), ("end_0", "")], "at least one"),
        ([("title_0", "Rapat"), ("start_0", "9 pagi"), ("end_0", "10:00")], "HH:MM"),
    ],
)
def test_a_form_the_api_would_refuse_says_what_to_fix(
    fields: list[tuple[str, str]], message: str
) -> None:
    form = DraftForm.from_form(FormData(fields), [1])

    with pytest.raises(DraftFormError, match=message):
        form.confirmation(Translator("en"))
