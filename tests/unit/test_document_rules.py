"""The pure rules about documents: their dates, their facts' vocabulary, their flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from evidence.document_dates import DocumentDateRules, document_date_flags
from evidence.document_facts import DocumentFacts, DocumentType, parse_iso_date, parse_pdf_date
from evidence.facts import Sourced
from evidence.flags import Code, Flag, Severity

WIB = timezone(timedelta(hours=7))
# A lesson on Tuesday 5 March 2024, 07:30-09:00 WIB, uploaded the same afternoon.
START = datetime(2024, 3, 5, 7, 30, tzinfo=WIB)
END = datetime(2024, 3, 5, 9, 0, tzinfo=WIB)
RECEIVED = datetime(2024, 3, 5, 14, 0, tzinfo=WIB)


def facts(
    created: datetime | None = None,
    modified: datetime | None = None,
    source: str = "pdf:Info/CreationDate",
) -> DocumentFacts:
    return DocumentFacts(
        doc_type=DocumentType.PDF,
        created=Sourced(created, source) if created else None,
        modified=Sourced(modified, "pdf:Info/ModDate") if modified else None,
    )


def flags_for(document: DocumentFacts, **overrides: object) -> list[Flag]:
    arguments: dict[str, object] = {
        "activity_start": START,
        "activity_end": END,
        "received_at": RECEIVED,
    }
    arguments.update(overrides)
    return document_date_flags(document, **arguments)  # type: ignore[arg-type]


def codes(flags: list[Flag]) -> list[tuple[Code, Severity]]:
    return [(flag.code, flag.severity) for flag in flags]


# --- dates as PDF, Office and ODF write them


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("D:20261013071502+07'00'", datetime(2026, 10, 13, 7, 15, 2, tzinfo=WIB)),
        ("D:20261013071502+07'00", datetime(2026, 10, 13, 7, 15, 2, tzinfo=WIB)),
        ("D:20261013071502+0700", datetime(2026, 10, 13, 7, 15, 2, tzinfo=WIB)),
        ("D:20240305001502Z", datetime(2024, 3, 5, 0, 15, 2, tzinfo=UTC)),
        ("D:20240305001502Z00'00'", datetime(2024, 3, 5, 0, 15, 2, tzinfo=UTC)),
        (
            "D:20240305071502-05'30'",
            datetime(2024, 3, 5, 7, 15, 2, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
        ("20240305071502", datetime(2024, 3, 5, 7, 15, 2)),
        ("D:20240305", datetime(2024, 3, 5)),
    ],
)
def test_reads_pdf_dates_with_their_offsets(raw: str, expected: datetime):
    parsed = parse_pdf_date(raw)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("raw", ["", "D:2024", "D:202403", "D:20241305", "D:19124010", "kemarin"])
def test_refuses_pdf_dates_that_name_no_day(raw: str):
    assert parse_pdf_date(raw) is None


def test_reads_office_and_odf_dates():
    assert parse_iso_date("2024-03-05T00:12:00Z") == datetime(2024, 3, 5, 0, 12, tzinfo=UTC)
    assert parse_iso_date("2024-03-05T07:12:00+07:00") == datetime(2024, 3, 5, 7, 12, tzinfo=WIB)
    # LibreOffice: local time, nanoseconds, no offset.
    odf = parse_iso_date("2024-03-05T07:12:33.123456789")
    assert odf == datetime(2024, 3, 5, 7, 12, 33, 123456)
    assert odf is not None and odf.tzinfo is None
    assert parse_iso_date("2024-03-05") is None


def test_document_facts_survive_json():
    original = DocumentFacts(
        doc_type=DocumentType.DOCX,
        page_count=Sourced(3, "ooxml:docProps/app.xml/Pages"),
        title=Sourced("Modul Ajar", "ooxml:docProps/core.xml/dc:title"),
        created=Sourced(datetime(2024, 3, 5, 0, 12, tzinfo=UTC), "ooxml:core"),
        modified=Sourced(datetime(2024, 3, 5, 7, 12), "odf:meta.xml/dc:date"),
    )
    data = original.to_json()
    assert data["doc_type"] == "docx"
    assert data["created"] == {"value": "2024-03-05T00:12:00+00:00", "source": "ooxml:core"}
    assert "author" not in data
    assert DocumentFacts.from_json(data) == original


def test_document_types_know_their_family_and_media_type():
    assert DocumentType.XLSX.is_ooxml and not DocumentType.XLSX.is_odf
    assert DocumentType.ODS.is_odf and not DocumentType.PDF.is_ooxml
    assert DocumentType.PDF.mime == "application/pdf"
    assert DocumentType.ODT.mime == "application/vnd.oasis.opendocument.text"


# --- dates against the activity


def test_a_lesson_plan_written_before_the_lesson_is_normal():
    assert flags_for(facts(START - timedelta(days=10), START - timedelta(days=3))) == []


def test_minutes_typed_up_a_few_days_after_are_normal():
    assert flags_for(facts(END + timedelta(days=2)), received_at=END + timedelta(days=3)) == []


def test_flags_a_document_created_long_after_the_activity_at_medium():
    created = END + timedelta(days=20)
    flags = flags_for(facts(created), received_at=created + timedelta(hours=1))
    assert codes(flags) == [(Code.TIME_OUTSIDE_ACTIVITY, Severity.MEDIUM)]
    assert "20 days after the activity ended" in flags[0].detail
    assert "pdf:Info/CreationDate" in flags[0].detail


def test_flags_a_document_untouched_for_over_a_year_at_low():
    flags = flags_for(facts(START - timedelta(days=800)))
    assert codes(flags) == [(Code.TIME_OUTSIDE_ACTIVITY, Severity.LOW)]
    assert "earlier year" in flags[0].detail


def test_last_years_file_saved_as_a_new_plan_is_normal():
    # Save As keeps the old creation date; the modification date is this week's.
    document = facts(START - timedelta(days=400), START - timedelta(days=2))
    assert flags_for(document) == []


def test_flags_dates_after_the_upload_at_medium():
    flags = flags_for(facts(END, RECEIVED + timedelta(hours=2)))
    assert codes(flags) == [(Code.TIME_IN_FUTURE, Severity.MEDIUM)]
    assert flags[0].detail.startswith("modified 2024-03-05 16:00")


def test_a_few_minutes_of_clock_skew_are_tolerated():
    assert flags_for(facts(RECEIVED + timedelta(minutes=4))) == []


def test_a_document_without_dates_gets_a_low_flag():
    assert codes(flags_for(facts())) == [(Code.NO_CAPTURE_TIME, Severity.LOW)]


def test_dates_without_offset_are_read_in_the_school_zone():
    # LibreOffice's local clock: 6 days 23 h after the lesson in WIB, within the 7-day grace;
    # read in a zone 14 h behind, the same wall-clock time is past it.
    created = (END + timedelta(days=7, hours=-1)).replace(tzinfo=None)
    flags = flags_for(
        facts(created, source="odf:meta.xml/meta:creation-date"),
        received_at=END + timedelta(days=8),
    )
    assert codes(flags) == [(Code.TIME_ZONE_ASSUMED, Severity.INFO)]
    assert "UTC+07:00" in flags[0].detail
    utc_school = DocumentDateRules(school_utc_offset_min=-7 * 60)
    flagged = flags_for(
        facts(created, source="odf:meta.xml/meta:creation-date"),
        received_at=END + timedelta(days=9),
        rules=utc_school,
    )
    assert (Code.TIME_OUTSIDE_ACTIVITY, Severity.MEDIUM) in codes(flagged)


def test_thresholds_are_rules_not_constants():
    created = END + timedelta(days=3)
    strict = DocumentDateRules(created_after_grace=timedelta(days=1))
    assert flags_for(facts(created), received_at=created) == []
    assert codes(flags_for(facts(created), received_at=created, rules=strict)) == [
        (Code.TIME_OUTSIDE_ACTIVITY, Severity.MEDIUM)
    ]


def test_no_document_date_flag_is_high():
    worst = facts(END + timedelta(days=90), RECEIVED + timedelta(days=1))
    flags = flags_for(worst)
    assert flags
    assert all(flag.severity is not Severity.HIGH for flag in flags)
