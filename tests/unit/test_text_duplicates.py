"""Near-duplicate documents by text: normalisation, shingles, MinHash and the policy."""

from __future__ import annotations

import random

import pytest

from evidence.text_duplicates import (
    MIN_SHINGLES,
    NEAR_DUPLICATE_JACCARD,
    PERMUTATIONS,
    TextSignature,
    estimate_jaccard,
    is_near_duplicate,
    normalise_text,
    text_signature,
    word_shingles,
)
from tests.fixtures.documents import lesson_pages, lesson_paragraphs


def signature(text: str) -> TextSignature:
    result = text_signature(text)
    assert result is not None
    return result


def true_jaccard(a: str, b: str) -> float:
    sa, sb = word_shingles(a), word_shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_normalises_case_width_ligatures_and_punctuation():
    assert normalise_text("Modul  AJAR:\tKelas X—IPA!") == "modul ajar kelas x ipa"
    # The fi ligature, and full-width letters and digits as Japanese-locale keyboards type them.
    assert (
        normalise_text("\ufb01sika \uff2b\uff45\uff4c\uff41\uff53 \uff11\uff10")
        == "fisika kelas 10"
    )
    assert normalise_text("nama: ______ tanggal: ....") == "nama tanggal"


def test_joins_words_hyphenated_at_a_line_break_and_drops_soft_hyphens():
    assert normalise_text("pem-\r\nbelajaran dan pem\u00adbelajaran") == (
        "pembelajaran dan pembelajaran"
    )


def test_shingles_are_runs_of_five_words():
    assert word_shingles("a b c d e f") == {"a b c d e", "b c d e f"}
    assert word_shingles("a b c d") == set()


def test_the_same_text_always_gets_the_same_signature():
    text = "\n".join(lesson_pages(3))
    first = signature(text)
    assert first == signature(text)
    assert len(first.minhashes) == PERMUTATIONS
    assert all(0 <= value < 2**32 for value in first.minhashes)


def test_signature_survives_json():
    original = signature("\n".join(lesson_pages(2)))
    assert TextSignature.from_json(original.to_json()) == original


def test_layout_and_case_differences_do_not_count():
    text = "\n".join(lesson_pages(5))
    relaid = text.upper().replace("\n", "  ").replace(". ", " ; ")
    assert estimate_jaccard(signature(text), signature(relaid)) == 1.0


def test_one_page_changed_in_twenty_is_a_near_duplicate():
    pages = lesson_pages(20, seed=1)
    changed = list(pages)
    changed[9] = lesson_pages(1, seed=99)[0]
    a, b = "\n".join(pages), "\n".join(changed)
    estimate = estimate_jaccard(signature(a), signature(b))
    assert abs(estimate - true_jaccard(a, b)) < 0.1
    assert is_near_duplicate(signature(a), signature(b))


def test_different_documents_are_not_near_duplicates():
    a, b = "\n".join(lesson_pages(20, seed=1)), "\n".join(lesson_pages(20, seed=2))
    assert estimate_jaccard(signature(a), signature(b)) < 0.1
    assert not is_near_duplicate(signature(a), signature(b))


def test_documents_from_one_template_are_not_near_duplicates():
    # Two lesson plans on one ministry template: the same headings, different content.
    template = (
        "MODUL AJAR KURIKULUM MERDEKA. INFORMASI UMUM. Identitas modul: nama penyusun, "
        "satuan pendidikan, tahun penyusunan, jenjang sekolah, kelas, alokasi waktu. "
        "Kompetensi awal. Profil pelajar Pancasila. Sarana dan prasarana. Target peserta "
        "didik. Model pembelajaran. KOMPONEN INTI. Tujuan pembelajaran. Pemahaman bermakna. "
        "Pertanyaan pemantik. Kegiatan pembelajaran. Asesmen. Pengayaan dan remedial. "
        "Refleksi peserta didik dan pendidik. LAMPIRAN. Lembar kerja peserta didik. Bahan "
        "bacaan guru dan peserta didik. Glosarium. Daftar pustaka."
    )
    a = template + "\n" + "\n".join(lesson_paragraphs(6, seed=11))
    b = template + "\n" + "\n".join(lesson_paragraphs(6, seed=12))
    assert not is_near_duplicate(signature(a), signature(b))


def test_estimates_follow_the_true_similarity():
    rng = random.Random(5)
    words = [f"kata{i}" for i in range(4000)]
    for keep in (0.2, 0.5, 0.8):
        a = " ".join(words)
        b = " ".join(w if rng.random() < keep else f"lain{i}" for i, w in enumerate(words))
        estimate = estimate_jaccard(signature(a), signature(b))
        assert abs(estimate - true_jaccard(a, b)) < 0.12


def test_tiny_or_empty_texts_get_no_signature_and_never_match():
    watermark = "Scanned with CamScanner"
    assert text_signature(watermark) is None
    assert text_signature("") is None
    assert not is_near_duplicate(text_signature(watermark), text_signature(watermark))
    assert not is_near_duplicate(None, None)


def test_a_text_just_long_enough_gets_a_signature():
    words = [f"w{i}" for i in range(MIN_SHINGLES + 4)]
    assert text_signature(" ".join(words)) is not None
    assert text_signature(" ".join(words[:-1])) is None


def test_the_threshold_is_a_parameter():
    a = "\n".join(lesson_pages(20, seed=1))
    changed = lesson_pages(20, seed=1)
    changed[:2] = lesson_pages(2, seed=50)
    b = "\n".join(changed)
    estimate = estimate_jaccard(signature(a), signature(b))
    assert NEAR_DUPLICATE_JACCARD <= estimate < 0.95
    assert is_near_duplicate(signature(a), signature(b))
    assert not is_near_duplicate(signature(a), signature(b), threshold=0.95)


def test_near_duplicates_share_a_band_key_and_different_texts_do_not():
    pages = lesson_pages(20, seed=3)
    changed = list(pages)
    changed[4] = lesson_pages(1, seed=77)[0]
    a, b = signature("\n".join(pages)), signature("\n".join(changed))
    other = signature("\n".join(lesson_pages(20, seed=4)))
    assert set(a.band_keys()) & set(b.band_keys())
    assert not set(a.band_keys()) & set(other.band_keys())
    assert len(a.band_keys()) == 32


def test_signatures_of_other_lengths_cannot_be_compared():
    text = "\n".join(lesson_pages(2))
    short = text_signature(text, permutations=64)
    assert short is not None
    with pytest.raises(ValueError):
        estimate_jaccard(short, signature(text))
    with pytest.raises(ValueError):
        text_signature(text, permutations=100)
