"""Documents end to end on real files: identify, sanitise, optimise, preview, facts, text.

Every file is made in the test (tests/fixtures/documents.py). LibreOffice is optional: where it
is installed an Office preview is drawn through it, where it is not the preview is a note.
"""

from __future__ import annotations

import time
import tracemalloc
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from bukti.errors import RejectedError
from bukti.settings import Settings
from evidence.document_facts import DocumentType
from evidence.text_duplicates import estimate_jaccard, is_near_duplicate, text_signature
from tests.fixtures.documents import (
    DocumentFactory,
    RawMember,
    lesson_pages,
    lesson_paragraphs,
    ole_file,
    ooxml_members,
    raw_member,
    write_package,
    write_raw_zip,
    xmp_packet,
    zeros_deflated,
)
from tests.fixtures.photos import sample
from workers.documents import preview as previews
from workers.documents.facts import document_facts, pdf_facts
from workers.documents.identify import identify_document
from workers.documents.optimise import (
    MAX_IMAGE_DPI,
    optimise_document,
    optimise_office,
    optimise_pdf,
)
from workers.documents.preview import NoPreview, Preview, find_soffice, render_preview
from workers.documents.sanitise import sanitise_pdf
from workers.documents.text import document_text
from workers.documents.zip_safety import ZipLimits
from workers.media import DocumentMedia
from workers.phash import perceptual_hashes

WIB = timezone(timedelta(hours=7))


def refusal(path: Path, limits: ZipLimits | None = None) -> str:
    with pytest.raises(RejectedError) as caught:
        if limits is None:
            identify_document(path)
        else:
            identify_document(path, limits)
    return caught.value.reason


def all_objects_text(path: Path) -> str:
    """Every object of a PDF, streams decoded, as one string to search."""
    with pikepdf.open(path) as pdf:
        pieces = []
        for obj in pdf.objects:
            pieces.append(repr(obj))
            if isinstance(obj, pikepdf.Stream):
                pieces.append(obj.read_bytes().decode("latin-1"))
        return "\n".join(pieces)


def objects_content(path: Path) -> tuple[list[bytes], list[list[str]]]:
    """A PDF's streams (as stored) and its dictionaries' keys, whatever their object numbers."""
    streams, keys = [], []
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream) and obj.get("/Type") in ("/XRef", "/ObjStm"):
                continue  # the file's layout, numbers included
            if isinstance(obj, pikepdf.Stream):
                streams.append(obj.read_raw_bytes())
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                keys.append(sorted(obj.keys()))
    return sorted(streams), sorted(keys)


# --- PDF: accepted, facts and text


def test_accepts_a_real_multi_page_pdf_and_reads_its_text(make_document: DocumentFactory):
    pages = lesson_pages(20, seed=1)
    path = make_document.pdf(pages=pages)
    assert identify_document(path) is DocumentType.PDF
    text = document_text(path, DocumentType.PDF)
    assert pages[0].split("\n")[0][:60] in text.replace("\r\n", " ")
    assert pages[19].split()[-1] in text


def test_reads_pdf_facts_from_info_and_xmp_with_sources(make_document: DocumentFactory):
    path = make_document.pdf(
        info={
            "/Title": "Modul Ajar Matematika",
            "/Author": "Siti Rahmawati",
            "/Creator": "Microsoft® Word 2019",
            "/CreationDate": "D:20240305071502+07'00'",
        },
        xmp=xmp_packet(
            xmp_ModifyDate="2024-03-06T08:30:00+07:00",
            xmp_CreateDate="2020-01-01T00:00:00Z",
            pdf_Producer="Microsoft® Word 2019",
            dc_title="Judul lama",
        ),
    )
    facts = document_facts(path, DocumentType.PDF)
    assert facts.page_count is not None and facts.page_count.value == 20
    assert facts.title is not None
    assert (facts.title.value, facts.title.source) == ("Modul Ajar Matematika", "pdf:Info/Title")
    assert facts.author is not None and facts.author.value == "Siti Rahmawati"
    assert facts.creator_tool is not None and facts.creator_tool.value == "Microsoft® Word 2019"
    # The Info dictionary wins where it has a value; XMP fills the gaps.
    assert facts.created is not None
    assert facts.created.value == datetime(2024, 3, 5, 7, 15, 2, tzinfo=WIB)
    assert facts.created.source == "pdf:Info/CreationDate"
    assert facts.modified is not None
    assert facts.modified.value == datetime(2024, 3, 6, 8, 30, tzinfo=WIB)
    assert facts.modified.source == "pdf:XMP/xmp:ModifyDate"
    assert facts.producer is not None and facts.producer.source == "pdf:XMP/pdf:Producer"


def test_accepts_a_pdf_with_only_an_owner_password(make_document: DocumentFactory, tmp_path):
    # Government certificates often forbid editing or copying; any reader opens them.
    path = make_document.pdf(encryption=pikepdf.Encryption(user="", owner="dinas", R=6))
    assert identify_document(path) is DocumentType.PDF
    report = sanitise_pdf(path, tmp_path / "out.pdf")
    assert report.decrypted
    with pikepdf.open(tmp_path / "out.pdf") as pdf:
        assert not pdf.is_encrypted


# --- PDF: refused


def test_refuses_a_password_protected_pdf(make_document: DocumentFactory):
    path = make_document.pdf(encryption=pikepdf.Encryption(user="rahasia", owner="rahasia"))
    assert "protected by a password" in refusal(path)


def test_refuses_a_truncated_pdf(make_document: DocumentFactory):
    path = make_document.truncated(make_document.pdf())
    assert "damaged" in refusal(path)


def test_accepts_a_pdf_whose_cross_reference_table_needs_repair(make_document: DocumentFactory):
    # Junk where the xref table should be: qpdf rebuilds it, as every reader does.
    path = make_document.pdf()
    data = path.read_bytes()
    xref = data.rindex(b"xref")
    path.write_bytes(data[:xref] + b"garbage" * 10 + data[xref + 20 :])
    assert identify_document(path) is DocumentType.PDF


def test_refuses_a_pdf_of_garbage(make_document: DocumentFactory):
    path = make_document.path("rusak.pdf")
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    assert "damaged" in refusal(path)


def test_refuses_what_is_no_document(make_document: DocumentFactory):
    path = make_document.path("foto.pdf")
    sample("astronaut", (64, 64)).save(path, "PNG")
    assert "not a document Bukti accepts" in refusal(path)


# --- Office and OpenDocument


@pytest.mark.parametrize("kind", ["docx", "xlsx", "pptx", "odt", "ods"])
def test_accepts_office_and_opendocument_files_by_content(make_document, kind):
    paragraphs = lesson_paragraphs(4, seed=8)
    created = datetime(2024, 3, 4, 20, 0, tzinfo=UTC)
    path = make_document.office(
        kind,
        "unggahan.bin",  # the name says nothing; the content does
        paragraphs=paragraphs,
        title="Laporan Kegiatan",
        author="Siti Rahmawati",
        created=created if kind not in ("odt", "ods") else created.replace(tzinfo=None),
        pages=2,
    )
    doc_type = identify_document(path)
    assert doc_type is DocumentType(kind)
    facts = document_facts(path, doc_type)
    assert facts.title is not None and facts.title.value == "Laporan Kegiatan"
    assert facts.author is not None and facts.author.value == "Siti Rahmawati"
    assert facts.created is not None and facts.created.value.replace(tzinfo=None) == datetime(
        2024, 3, 4, 20, 0
    )
    assert facts.creator_tool is not None
    if kind in ("docx", "pptx", "odt"):
        assert facts.page_count is not None and facts.page_count.value == 2
    text = " ".join(document_text(path, doc_type).split())
    first_words = " ".join(paragraphs[0].split(". ")[0].split()[:6])
    assert first_words in text
    assert paragraphs[-1].split()[-1].rstrip(".") in text


def test_reads_odf_dates_as_local_time_without_offset(make_document: DocumentFactory):
    path = make_document.office("odt", created=datetime(2024, 3, 5, 7, 12, 33))
    facts = document_facts(path, DocumentType.ODT)
    assert facts.created is not None
    assert facts.created.value == datetime(2024, 3, 5, 7, 12, 33)
    assert facts.created.source == "odf:meta.xml/meta:creation-date"


def test_refuses_a_macro_enabled_word_file(make_document: DocumentFactory):
    reason = refusal(make_document.office("docm", "laporan.docx"))
    assert "macro-enabled" in reason and "DOCX" in reason


def test_refuses_vba_hidden_in_a_plain_docx(make_document: DocumentFactory):
    path = make_document.office("docx", extra={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0"})
    assert "VBA macros" in refusal(path)


def test_refuses_libreoffice_basic_macros(make_document: DocumentFactory):
    basic = {
        "Basic/script-lc.xml": b"<library:libraries/>",
        "Basic/Standard/script-lb.xml": b"<library:library/>",
        "Basic/Standard/Module1.xml": b'<script:module>Sub Main\nShell("calc")\nEnd Sub',
    }
    path = make_document.office("odt", extra=basic)
    assert "Basic macros" in refusal(path)


def test_refuses_a_password_protected_odf_file(make_document: DocumentFactory):
    assert "password" in refusal(make_document.office("ods", encrypted=True))


@pytest.mark.parametrize(
    ("streams", "expected"),
    [
        (["EncryptionInfo", "EncryptedPackage"], "protected by a password"),
        (["WordDocument", "1Table"], "save it as DOCX"),
        (["Workbook"], "save it as XLSX"),
        (["PowerPoint Document", "Current User"], "save it as PPTX"),
    ],
)
def test_refuses_encrypted_and_legacy_office_files_with_guidance(
    make_document: DocumentFactory, streams: list[str], expected: str
):
    path = ole_file(make_document.path("lama.doc"), streams)
    assert expected in refusal(path)


def test_refuses_a_plain_zip_archive(make_document: DocumentFactory):
    path = write_package(make_document.path("arsip.zip"), {"foto.jpg": b"\xff\xd8\xff"})
    assert "ZIP archive" in refusal(path)


def test_refuses_an_xml_entity_bomb(make_document: DocumentFactory):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )
    members = ooxml_members("docx", ["Laporan."])
    members["[Content_Types].xml"] = laughs + members["[Content_Types].xml"]
    path = write_package(make_document.path("laughs.docx"), members)
    assert "XML bomb" in refusal(path)


def test_refuses_a_dtd_in_any_xml_part(make_document: DocumentFactory):
    members = ooxml_members("docx", ["Laporan."])
    external = b'<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    members["word/document.xml"] = external + members["word/document.xml"]
    path = write_package(make_document.path("xxe.docx"), members)
    assert "word/document.xml" in refusal(path)


# --- zip bombs: refused while reading, never inflated


def test_refuses_a_zip_bomb_without_inflating_it(make_document: DocumentFactory):
    path = make_document.lying_zip_bomb(inflated_gib=8)
    assert path.stat().st_size < 16 << 20  # 8 GiB of zeros in ~8 MB
    tracemalloc.start()
    started = time.perf_counter()
    try:
        reason = refusal(path)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "inflates beyond its declared size" in reason
    # Inflating 8 GiB takes seconds on any machine and 8 GiB of memory if buffered; reading
    # stops after the first MiB.
    assert elapsed < 1.0
    assert peak < 16 << 20


def test_refuses_a_bomb_whose_declared_ratio_looks_honest(make_document: DocumentFactory):
    # 100:1 as declared, but only the kilobytes the inflater consumes count: 1000:1.
    reason = refusal(make_document.ratio_zip_bomb(inflated_mib=200))
    assert "inflates more than 100 times" in reason


def test_refuses_a_bomb_that_declares_its_size(make_document: DocumentFactory):
    members = [raw_member(n, d) for n, d in ooxml_members("docx", ["Laporan."]).items()]
    members.append(RawMember("word/media/image1.png", zeros_deflated(3 * 1024), 8, 3 << 30))
    path = write_raw_zip(make_document.path("honest-bomb.docx"), members)
    assert "declares" in refusal(path)


def test_refuses_too_many_members_before_listing_them(make_document: DocumentFactory):
    members = [raw_member(n, d) for n, d in ooxml_members("docx", ["Laporan."]).items()]
    members += [raw_member(f"word/media/{i}.png", b"", stored=True) for i in range(200)]
    path = write_raw_zip(make_document.path("many.docx"), members)
    assert "more than 100 members" in refusal(path, ZipLimits(max_entries=100))


def test_refuses_overlapping_members(make_document: DocumentFactory):
    members = [raw_member(n, d) for n, d in ooxml_members("docx", ["Laporan."]).items()]
    path = write_raw_zip(make_document.path("overlap.docx"), members)
    data = bytearray(path.read_bytes())
    # Point the second central-directory entry at the first member's local header.
    first = data.index(b"PK\x01\x02")
    second = data.index(b"PK\x01\x02", first + 1)
    data[second + 42 : second + 46] = data[first + 42 : first + 46]
    path.write_bytes(bytes(data))
    reason = refusal(path)
    assert "overlapping" in reason or "differ" in reason


def test_refuses_an_encrypted_zip_member(make_document: DocumentFactory):
    members = [raw_member(n, d) for n, d in ooxml_members("docx", ["Laporan."]).items()]
    members[-1] = RawMember(members[-1].name, members[-1].payload, 8, 10, 0, flags=1)
    path = write_raw_zip(make_document.path("locked.docx"), members)
    assert "password-protected" in refusal(path)


def test_checks_embedded_packages_too(make_document: DocumentFactory):
    # A chart's workbook inside a report is normal; a workbook in a workbook in a workbook is not.
    assert identify_document(make_document.nested_zip(2)) is DocumentType.DOCX
    assert "nested more than 2 deep" in refusal(make_document.nested_zip(3))
    bomb = make_document.lying_zip_bomb(inflated_gib=1)
    members = ooxml_members("docx", ["Laporan dengan bagan."])
    members["word/embeddings/Microsoft_Excel_Worksheet.xlsx"] = bomb.read_bytes()
    path = write_package(make_document.path("nested-bomb.docx"), members)
    assert "zip bomb" in refusal(path)


def test_refuses_members_of_the_same_name(make_document: DocumentFactory):
    members = [raw_member(n, d) for n, d in ooxml_members("docx", ["Laporan."]).items()]
    members.append(raw_member("WORD/document.xml", b"<w:document/>"))
    path = write_raw_zip(make_document.path("twice.docx"), members)
    assert "twice" in refusal(path)


# --- sanitising


def test_sanitising_removes_active_content_and_keeps_the_text(make_document, tmp_path):
    source = make_document.pdf_with_active_content()
    before = all_objects_text(source)
    assert "pwned-open" in before and "MZ pretend" in before  # the fixture is what it claims
    out = tmp_path / "bersih.pdf"
    report = sanitise_pdf(source, out)
    assert report.removed["open_action"] == 1
    assert report.removed["javascript_name_tree"] == 1
    assert report.removed["launch_actions"] == 1
    assert report.removed["submit_form_actions"] == 1
    assert report.removed["embedded_files"] >= 1
    assert report.removed["file_attachment_annotations"] == 1
    assert report.removed["additional_actions"] == 2  # the catalogue's and the page's
    assert report.removed["javascript_actions"] == 1  # the outline item's
    assert report.removed["unsafe_links"] == 1  # javascript: URI
    assert report.removed["xfa_forms"] == 1
    assert report.kept_links == 1
    after = all_objects_text(out)
    for gone in ("/JavaScript", "/JS", "/Launch", "/SubmitForm", "/EmbeddedFile", "/XFA",
                 "/OpenAction", "/AA", "/FileAttachment", "pwned", "MZ pretend", "javascript:"):  # fmt: skip
        assert gone not in after
    assert "https://www.youtube.com/watch?v=dQw4w9WgXcQ" in after
    assert document_text(out, DocumentType.PDF) == document_text(source, DocumentType.PDF)
    assert identify_document(out) is DocumentType.PDF


def test_a_clean_pdf_is_stored_byte_for_byte(make_document, tmp_path):
    source = make_document.pdf()
    report = sanitise_pdf(source, tmp_path / "out.pdf")
    assert not report.changed
    assert (tmp_path / "out.pdf").read_bytes() == source.read_bytes()


def test_sanitising_is_deterministic(make_document, tmp_path):
    source = make_document.pdf_with_active_content()
    sanitise_pdf(source, tmp_path / "a.pdf")
    sanitise_pdf(source, tmp_path / "b.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


# --- a PDF's job: one opening for its checks, facts, sanitising and optimising


def test_a_pdfs_job_opens_it_once(make_document, tmp_path, monkeypatch):
    source = make_document.pdf_with_active_content()
    opened: list[object] = []
    real_open = pikepdf.open

    def counting_open(*args: Any, **kwargs: Any) -> pikepdf.Pdf:
        opened.append(args[0])
        return real_open(*args, **kwargs)

    drawn: list[object] = []
    real_document = pdfium.PdfDocument

    def counting_document(*args: Any, **kwargs: Any) -> pdfium.PdfDocument:
        drawn.append(args[0])
        return real_document(*args, **kwargs)

    pictures: list[object] = []
    real_image_open = Image.open

    def counting_image_open(*args: Any, **kwargs: Any) -> Image.Image:
        pictures.append(args[0])
        return real_image_open(*args, **kwargs)

    monkeypatch.setattr(pikepdf, "open", counting_open)
    monkeypatch.setattr(pdfium, "PdfDocument", counting_document)
    monkeypatch.setattr(Image, "open", counting_image_open)
    examined, made = DocumentMedia().process(source, tmp_path, Settings())
    assert opened == [source]
    assert drawn == [str(tmp_path / "rendition.pdf")]  # the preview and the text from one
    assert pictures == []  # the preview is hashed as drawn, not read back
    assert examined.facts["document"]["page_count"]["value"] == 3
    assert made.outputs.note.startswith("removed: ")
    assert made.outputs.rendition is not None and made.outputs.preview is not None
    monkeypatch.undo()
    with Image.open(made.outputs.preview) as page:
        assert made.perceptual["preview"] == perceptual_hashes(page.convert("RGB")).to_json()
    # the stored copy's text is the original's
    signature = text_signature(document_text(source, DocumentType.PDF))
    assert signature is not None and made.perceptual["text"] == signature.to_json()


def test_a_pdfs_job_stores_what_its_phases_make_one_by_one(make_document, tmp_path):
    page = sample("page", (2480, 3508))
    scan = make_document.pdf("scan.pdf", pages=["Scanned with CamScanner"], image=page)
    active = make_document.pdf_with_active_content()
    for source in (scan, active):
        work = tmp_path / source.stem
        work.mkdir()
        _, made = DocumentMedia().process(source, work, Settings())
        sanitise_pdf(source, work / "by-phase-clean.pdf")
        optimise_pdf(work / "by-phase-clean.pdf", work / "by-phase.pdf")
        assert made.outputs.rendition is not None
        # the same objects; only their numbers inside the object stream may differ
        assert objects_content(made.outputs.rendition) == objects_content(work / "by-phase.pdf")
    assert (tmp_path / "scan" / "rendition.pdf").read_bytes() == (
        tmp_path / "scan" / "by-phase.pdf"
    ).read_bytes()


def test_reading_a_pdfs_facts_adds_nothing_to_it(make_document):
    # The opened PDF is sanitised and saved next: an Info dictionary made up while reading
    # (pikepdf's docinfo does that) would end up in the stored copy.
    with pikepdf.open(make_document.pdf()) as pdf:
        assert "/Info" not in pdf.trailer  # the fixture is what it claims
        assert pdf_facts(pdf).title is None
        assert "/Info" not in pdf.trailer


def test_a_pdfs_job_refuses_what_identifying_refuses(make_document, tmp_path):
    hostile = [
        make_document.pdf(encryption=pikepdf.Encryption(user="rahasia", owner="rahasia")),
        make_document.truncated(make_document.pdf()),
    ]
    for path in hostile:
        with pytest.raises(RejectedError) as caught:
            DocumentMedia().process(path, tmp_path, Settings())
        assert caught.value.reason == refusal(path)


# --- optimising


def test_optimising_resamples_a_phone_scan_and_keeps_it_legible(make_document, tmp_path):
    # A 12 MP phone photo of an A4 page (about 340 dpi) with a one-line text layer.
    scan = make_document.pdf(pages=["Scanned with CamScanner"], image=sample("page", (2480, 3508)))
    out = tmp_path / "scan.pdf"
    report = optimise_pdf(scan, out)
    assert report.images_recompressed == 1
    assert not report.kept_input
    assert report.output_bytes < report.input_bytes / 2
    with pikepdf.open(out) as pdf:
        image = next(iter(pdf.pages[0].get_images().values()))
        assert max(int(image.Width), int(image.Height)) == round(842 / 72 * MAX_IMAGE_DPI)
    preview = render_preview(out, DocumentType.PDF, tmp_path / "scan.png")
    assert isinstance(preview, Preview)


def test_optimising_keeps_the_input_when_nothing_is_saved(make_document, tmp_path):
    source = make_document.pdf(object_streams=True)
    first = optimise_pdf(source, tmp_path / "once.pdf")
    second = optimise_pdf(tmp_path / "once.pdf", tmp_path / "twice.pdf")
    assert second.kept_input and second.output_bytes == first.output_bytes
    assert (tmp_path / "twice.pdf").read_bytes() == (tmp_path / "once.pdf").read_bytes()


def test_office_files_are_recompressed_only_when_smaller(make_document, tmp_path):
    stored = make_document.office("odt", stored=True)
    report = optimise_document(stored, DocumentType.ODT, tmp_path / "small.odt")
    assert not report.kept_input and report.output_bytes < report.input_bytes
    with zipfile.ZipFile(tmp_path / "small.odt") as package:
        first = package.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    assert identify_document(tmp_path / "small.odt") is DocumentType.ODT
    text = document_text(tmp_path / "small.odt", DocumentType.ODT)
    assert text == document_text(stored, DocumentType.ODT)
    again = optimise_office(tmp_path / "small.odt", tmp_path / "again.odt")
    assert again.kept_input


# --- previews


def test_previews_the_first_page_of_a_pdf(make_document, tmp_path):
    path = make_document.pdf()
    preview = render_preview(path, DocumentType.PDF, tmp_path / "p.png")
    assert isinstance(preview, Preview)
    with Image.open(preview.path) as image:
        assert image.format == "PNG"
        assert max(image.size) == 1280
        assert image.size == (preview.width_px, preview.height_px)
    assert preview.renderer == "pdfium"


def test_previews_office_files_through_libreoffice_when_installed(make_document, tmp_path):
    path = make_document.office("docx")
    preview = render_preview(path, DocumentType.DOCX, tmp_path / "docx.png")
    if find_soffice() is None:
        assert isinstance(preview, NoPreview)
        assert "LibreOffice is not installed" in preview.note
    else:
        assert isinstance(preview, Preview)
        assert preview.renderer == "libreoffice+pdfium"
        assert (tmp_path / "docx.png").exists()


def test_office_files_get_a_note_instead_of_a_preview_without_libreoffice(
    make_document, tmp_path, monkeypatch
):
    monkeypatch.setattr(previews, "find_soffice", lambda: None)
    preview = render_preview(make_document.office("xlsx"), DocumentType.XLSX, tmp_path / "x.png")
    assert isinstance(preview, NoPreview)
    assert "LibreOffice is not installed" in preview.note
    assert not (tmp_path / "x.png").exists()


# --- near duplicates on real files


def test_a_resaved_copy_with_other_metadata_is_a_near_duplicate(make_document, tmp_path):
    original = make_document.pdf(
        pages=lesson_pages(20, seed=21),
        info={
            "/Title": "Modul Ajar",
            "/Author": "Siti",
            "/CreationDate": "D:20240301080000+07'00'",
        },
    )
    copy = tmp_path / "salinan.pdf"
    with pikepdf.open(original) as pdf:
        pdf.docinfo["/Title"] = "Modul Ajar (revisi)"
        pdf.docinfo["/Author"] = "Budi"
        pdf.docinfo["/CreationDate"] = "D:20240402090000+07'00'"
        pdf.save(copy, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert copy.read_bytes() != original.read_bytes()
    a = text_signature(document_text(original, DocumentType.PDF))
    b = text_signature(document_text(copy, DocumentType.PDF))
    assert is_near_duplicate(a, b)


def test_one_changed_page_in_twenty_is_still_a_near_duplicate(make_document):
    pages = lesson_pages(20, seed=22)
    edited = list(pages)
    edited[7] = lesson_pages(1, seed=900)[0]
    a = text_signature(document_text(make_document.pdf(pages=pages), DocumentType.PDF))
    b = text_signature(document_text(make_document.pdf(pages=edited), DocumentType.PDF))
    assert is_near_duplicate(a, b)


def test_the_same_text_as_pdf_and_as_docx_is_a_near_duplicate(make_document):
    paragraphs = lesson_paragraphs(30, seed=23)
    pdf = make_document.pdf(pages=["\n".join(paragraphs[:15]), "\n".join(paragraphs[15:])])
    docx = make_document.office("docx", paragraphs=paragraphs)
    a = text_signature(document_text(pdf, DocumentType.PDF))
    b = text_signature(document_text(docx, DocumentType.DOCX))
    assert a is not None and b is not None
    assert estimate_jaccard(a, b) > 0.9


def test_a_different_document_is_not_a_near_duplicate(make_document):
    first = make_document.pdf(pages=lesson_pages(20, seed=24))
    second = make_document.pdf(pages=lesson_pages(20, seed=25))
    a = text_signature(document_text(first, DocumentType.PDF))
    b = text_signature(document_text(second, DocumentType.PDF))
    assert a is not None and b is not None
    assert not is_near_duplicate(a, b)


def test_a_scan_without_text_has_no_text_signature(make_document):
    scan = make_document.pdf(pages=["Scanned with CamScanner"], image=sample("page", (600, 848)))
    assert text_signature(document_text(scan, DocumentType.PDF)) is None
