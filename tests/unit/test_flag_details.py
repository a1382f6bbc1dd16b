"""Flag details in the reader's language: every message the code raises has an English
template and an Indonesian translation with the same placeholders, and the pages word a
flag from its phrases (the API keeps the stored English sentence)."""
# Details are asserted as a reader sees them, with their en dashes.
# ruff: noqa: RUF001

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from api.auth import Principal, Role
from api.flag_views import (
    FLAG_DETAILS,
    FLAG_TITLES,
    FLAG_WORDS,
    flag_title,
    phrases_text,
    render_flag,
)
from api.web.catalogs import read_catalog
from api.web.i18n import Translator
from evidence.facts import CaptureFacts, Location, Sourced
from evidence.flags import SEVERITY, Code, Flag, Phrase
from evidence.records import ActivityWindow, SchoolPlace, TeacherHome
from evidence.review import DUPLICATE_CODES
from evidence.trailing import trailing_data_flag
from evidence.verification import Rules, activity_overlap_flag, trk_day_flags, verify_photo
from evidence.youtube import Requirement, Submission, youtube_flags
from storage.models import EvidenceFlag

ROOT = Path(__file__).resolve().parents[2]
ID = Translator("id")
EN = Translator("en")
TEACHER = Principal(user_id=7, name="Erni Wardhani", role=Role.TEACHER, teacher_id=1, school_id=1)

#: codes whose detail is not worded from phrases, and why
NOT_FROM_PHRASES = {
    # rebuilt from the other item by render_flag, saying only what the reader may see
    *DUPLICATE_CODES,
    # a teacher's month, kept in monthly_flags and shown by its title only
    Code.MISSING_MONTHLY_VIDEO,
}

SCHOOL = SchoolPlace("SMKN 1 Cianjur", -6.8200, 107.1400)
LESSON = ActivityWindow(1, date(2026, 10, 13), time(7, 0), time(9, 0), "Mengajar X TKJ 1")


def _pattern(node: ast.expr) -> str:
    """The message ids an expression can produce, as a regular expression."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(_pattern(part) for part in node.values)
    if isinstance(node, ast.FormattedValue):
        return "[a-z_]+"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _pattern(node.left) + _pattern(node.right)
    if isinstance(node, ast.IfExp):
        return f"(?:{_pattern(node.body)}|{_pattern(node.orelse)})"
    raise AssertionError(f"a message id the test cannot read: {ast.unparse(node)}")


def raised_messages() -> dict[str, str]:
    """Every ``Phrase(...)`` message id in the code that raises flags, as patterns by place."""
    found: dict[str, str] = {}
    for path in sorted([*ROOT.glob("evidence/*.py"), *ROOT.glob("workers/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Phrase"
                and node.args
            ):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found[where] = _pattern(node.args[0])
    return found


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)s", text))


def test_the_code_raises_phrases_from_many_places() -> None:
    # the walk below reads real call sites, not an empty list
    assert len(raised_messages()) >= 50


@pytest.mark.parametrize("where", sorted(raised_messages()))
def test_every_message_raised_has_a_template(where: str) -> None:
    pattern = raised_messages()[where]
    assert any(re.fullmatch(pattern, message) for message in FLAG_DETAILS), (where, pattern)


def test_every_template_is_raised_somewhere() -> None:
    patterns = list(raised_messages().values())
    unused = [m for m in FLAG_DETAILS if not any(re.fullmatch(p, m) for p in patterns)]
    assert unused == []


@pytest.mark.parametrize("code", sorted(set(SEVERITY) - NOT_FROM_PHRASES))
def test_every_code_that_can_be_raised_has_a_template(code: Code) -> None:
    assert any(message.split(".")[0] == code.value for message in FLAG_DETAILS)


@pytest.mark.parametrize("code", list(Code))
def test_every_code_has_a_title_in_both_languages(code: Code) -> None:
    # a page shows a flag by its title: a code without one was shown as its bare name
    assert code in FLAG_TITLES
    entry = read_catalog("id").get(FLAG_TITLES[code])
    assert entry is not None and entry.string and not entry.fuzzy
    assert flag_title(code.value, Translator("id")) == entry.string != FLAG_TITLES[code]


def test_every_template_translates_to_indonesian_with_the_same_placeholders() -> None:
    catalog = read_catalog("id")
    for english in [*FLAG_DETAILS.values(), *FLAG_WORDS]:
        entry = catalog.get(english)
        assert entry is not None and entry.string, english
        assert not entry.fuzzy, english
        assert placeholders(str(entry.string)) == placeholders(english), english


#: a value of each kind a phrase's value names end with (see evidence.flags.Phrase)
KINDS: dict[str, str | int | float] = {
    "_at": "2026-10-13T06:58:00+07:00",
    "_clock": "2026-10-13T14:05:00+07:00",
    "_days": "2026-10-12, 2026-10-13",
    "_day": "2026-10-13",
    "_month": "2026-10",
    "_window": "07:00–09:00",
    "_time": "07:30",
    "_wall": "2026-10-13T07:20:00",
    "_s": 8220,
    "_m": 1523.4,
    "_bytes": 2048,
    "_n": 1450,
    "_word": "private",
}


@pytest.mark.parametrize("message", sorted(FLAG_DETAILS))
@pytest.mark.parametrize("t", [ID, EN], ids=["id", "en"])
def test_every_template_words_values_of_its_kinds(message: str, t: Translator) -> None:
    values: dict[str, str | int | float] = {"zone": "Asia/Jakarta"}
    for name in placeholders(FLAG_DETAILS[message]):
        kind = next((suffix for suffix in KINDS if name.endswith(suffix)), None)
        values[name] = KINDS[kind] if kind else "Rapat"
    text = phrases_text([Phrase(message, values).to_json()], t)
    assert text is not None and "%(" not in text
    # each value is shown in the reader's formats, never as it is stored
    assert "2026-10-13" not in text and "8220" not in text


def stored(flag: Flag) -> EvidenceFlag:
    """The flag as add_flags writes it."""
    return EvidenceFlag(
        code=flag.code.value,
        severity=flag.severity.value,
        detail=flag.detail,
        related_evidence_id=flag.related_evidence_id,
        detail_phrases=flag.phrases_json(),
    )


def photo(taken: datetime, at: tuple[float, float]) -> CaptureFacts:
    return CaptureFacts(
        width=4000,
        height=3000,
        format="image/jpeg",
        captured_local=Sourced(taken, "exif:DateTimeOriginal"),
        utc_offset_min=Sourced(420, "exif:OffsetTimeOriginal"),
        modified_local=Sourced(taken, "exif:DateTime"),
        location=Sourced(Location(*at, accuracy_m=12.0), "exif:GPS"),
        make=Sourced("samsung", "exif:Make"),
        model=Sourced("SM-A145F", "exif:Model"),
    )


def photo_flags(taken: datetime, at: tuple[float, float]) -> dict[str, Flag]:
    flags = verify_photo(
        photo(taken, at),
        received_at_utc=datetime(2026, 10, 13, 12, 0, tzinfo=UTC),
        activity=LESSON,
        attendance=None,
        school=SCHOOL,
        home=TeacherHome(-6.85, 107.1),
        history=[],
        rules=Rules(),
        zone_at=lambda lat, lon: "Asia/Jakarta",
    )
    return {flag.code.value: flag for flag in flags}


def worded(flag: Flag) -> tuple[str, str]:
    """The flag's detail on a page, in Indonesian and in English."""
    row = stored(flag)
    return render_flag(row, TEACHER, None, ID).detail, render_flag(row, TEACHER, None, EN).detail


def taken_after_the_lesson() -> Flag:
    """The time_outside_activity flag of a photo taken at 14:05 after a 07:00-09:00 lesson."""
    return photo_flags(datetime(2026, 10, 13, 14, 5), (SCHOOL.lat, SCHOOL.lon))[
        "time_outside_activity"
    ]


def test_a_photo_taken_after_its_activity_reads_in_both_languages() -> None:
    assert worded(taken_after_the_lesson()) == (
        "Diambil pukul 14.05, di luar waktu kegiatan 07.00–09.00 (5 jam 5 menit setelah selesai)",
        "Taken at 14:05, outside the activity's time 07:00–09:00 (5 h 5 min after it ends)",
    )


def test_the_api_keeps_the_stored_english_detail() -> None:
    flag = taken_after_the_lesson()
    shown = render_flag(stored(flag), TEACHER, None, EN, as_stored=True)
    assert (
        shown.detail
        == flag.detail
        == "taken 14:05 WIB; activity 07:00–09:00 (5 h 5 min after its end)"
    )


def test_a_photo_away_from_school_names_the_distance_in_the_readers_numbers() -> None:
    # 2.5 km due north of the school
    flag = photo_flags(datetime(2026, 10, 13, 7, 30), (SCHOOL.lat + 0.0225, SCHOOL.lon))[
        "outside_geofence"
    ]
    assert worded(flag) == (
        "2,5 km dari SMKN 1 Cianjur (radius area 150 m); akurasi GPS 12 m",
        "2.5 km from SMKN 1 Cianjur (area radius 150 m); GPS accuracy 12 m",
    )


def test_a_day_under_target_reads_in_both_languages() -> None:
    short = ActivityWindow(2, date(2026, 10, 14), time(7, 0), time(13, 0), "Mengajar")
    (flag,) = trk_day_flags([short])[date(2026, 10, 14)]
    assert worded(flag) == (
        "Baru 360 dari 450 menit tercatat pada 14 Okt 2026 (kurang 90 menit)",
        "Only 360 of the day's 450 min logged on 14 Oct 2026 (90 min short)",
    )


def test_overlapping_activities_read_in_indonesian() -> None:
    first = ActivityWindow(3, date(2026, 10, 13), time(7, 0), time(8, 30), "Mengajar X-1")
    second = ActivityWindow(4, date(2026, 10, 13), time(8, 0), time(9, 0), "Rapat")
    flag = activity_overlap_flag(first, second)
    assert phrases_text(flag.phrases_json(), ID) == (
        "Pada 13 Okt 2026, 07.00–08.30 “Mengajar X-1” dan 08.00–09.00 “Rapat” tumpang tindih "
        "30 menit"
    )


VIDEO = "abc123def45"


def link_flags(info: dict[str, object], others: Sequence[Submission] = ()) -> list[Flag]:
    """The flags of teacher 1's October learning video, given its info dict."""
    return youtube_flags(
        info,
        video_id=VIDEO,
        teacher_id=1,
        teacher_channel_id="UC1",
        month="2026-10",
        requirement=Requirement.LEARNING,
        other_submissions=others,
    )


def test_a_youtube_link_reused_by_another_teacher_names_no_one() -> None:
    info = {"id": VIDEO, "channel_id": "UC1", "channel": "Bu Erni", "duration": 300}
    other = Submission(VIDEO, 2, "2026-10", Requirement.LEARNING, evidence_id=99)
    (reused,) = [f for f in link_flags(info, [other]) if f.code is Code.YOUTUBE_REUSED]
    assert reused.phrases == (Phrase("youtube_reused.another_teacher"),)
    shown = render_flag(stored(reused), TEACHER, None, ID)
    assert shown.detail == "Video yang sama sudah pernah dikirim guru lain"
    assert shown.related_evidence_id is None


def test_an_unwatchable_video_says_why_in_indonesian() -> None:
    (flag,) = link_flags({"id": VIDEO, "availability": "private"})
    assert phrases_text(flag.phrases_json(), ID) == "Videonya privat"


def test_a_file_with_a_zip_after_it_reads_in_indonesian() -> None:
    jpeg = b"\xff\xd8\xff\xd9" + b"PK\x03\x04" + b"\x00" * 2000
    flag = trailing_data_flag("image/jpeg", jpeg)
    assert flag is not None
    assert phrases_text(flag.phrases_json(), ID) == (
        "Ada arsip ZIP setelah akhir JPEG (2,0 KB setelah bita ke-4): program lain membaca "
        "berkas ini sebagai hal lain"
    )


def test_a_flag_stored_before_phrases_is_shown_as_stored() -> None:
    row = EvidenceFlag(code="no_location", severity="medium", detail="no GPS position")
    assert render_flag(row, TEACHER, None, ID).detail == "no GPS position"


def test_a_phrase_this_version_does_not_know_falls_back_to_the_stored_detail() -> None:
    row = EvidenceFlag(
        code="no_location",
        severity="medium",
        detail="no GPS position",
        detail_phrases=[{"message": "no_location.from_the_future", "values": {}}],
    )
    assert render_flag(row, TEACHER, None, ID).detail == "no GPS position"


def test_durations_read_in_the_readers_units() -> None:
    assert ID.duration(2 * 3600 + 17 * 60) == "2 jam 17 menit"
    assert EN.duration(30 * 60 + 10) == "30 min 10 s"
    assert ID.duration(3 * 86_400 + 4 * 3600 + 59) == "3 hari 4 jam"
    assert EN.duration(0) == "0 s"
