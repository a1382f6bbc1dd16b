"""Near-duplicate documents by their text: normalised word shingles and a MinHash signature.

A document re-saved with other metadata, re-exported through another PDF writer, or with one
page of twenty changed keeps most of its 5-word shingles, so the Jaccard similarity of the
shingle sets stays high (one changed page in twenty leaves about 0.9); two different documents
share almost none, even when they follow one template. MinHash estimates that similarity from
two fixed-size signatures, so the index stores 128 numbers per document instead of its text.

Texts too short to tell documents apart (a scan whose only text is the scanner app's
watermark, an empty form) get no signature at all and never match: those documents are
compared by the perceptual hash of their preview instead, like photos.
"""

from __future__ import annotations

import array
import hashlib
import math
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any

SHINGLE_WORDS = 5
"""Words per shingle: long enough that two unrelated texts rarely share one, short enough
that a changed word spoils only five shingles."""

PERMUTATIONS = 128
"""MinHash values per signature; the Jaccard estimate's standard error is at most 0.045."""

MIN_SHINGLES = 30
"""Fewer distinct shingles (about 34 words) than this: no signature. A cover sheet, a stamp
or a scanner's watermark would otherwise decide a match on its own."""

NEAR_DUPLICATE_JACCARD = 0.6
"""Default estimated Jaccard similarity from which two texts are near duplicates.

Measured by ``bench.documents`` on 27 twenty-page excerpts of Debian's documentation PDFs:
re-saved copies score 1.0, copies re-exported through pdftocairo or Ghostscript 0.87 and up,
one page of twenty replaced 0.78 and up; different documents (other manuals, other chapters of
the same manual with its running heads, translations) 0.07 at most. 0.6 sits in that gap, with
room for a copy re-typed in another word processor whose line breaks and hyphenation differ.
"""

LSH_BANDS = 32
"""Bands of :meth:`TextSignature.band_keys`: with 4 rows each, a pair at similarity 0.6 shares
a band with probability 0.98 and a pair at 0.2 with probability 0.05. A pair that
:func:`is_near_duplicate` accepts has at least 77 of 128 values equal, and such a pair shares a
band with probability 0.9966 or more (:func:`band_recall`)."""

_HASH_BYTES = 4  # one MinHash value: 32 bits, so collisions stay far below the estimate's error
_VALUES_PER_DIGEST = 64 // _HASH_BYTES  # BLAKE2b's longest digest gives 16 values at once
# Zero-width characters and the soft hyphen: invisible in the document, present or not in the
# extracted text depending on the writer.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
# A word hyphenated at a line break is one word; another layout breaks it elsewhere or not at all.
_LINE_BREAK_HYPHEN = re.compile(r"-[ \t]*\r?\n\s*")
# Everything that is not a letter or digit separates words: punctuation, symbols, underscores
# (the blanks of a form), whitespace and the control characters text extractors leave behind.
_SEPARATORS = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """``text`` in NFKC, case-folded, with punctuation removed and whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = _LINE_BREAK_HYPHEN.sub("", text)
    return _SEPARATORS.sub(" ", text.casefold()).strip()


def word_shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """The set of runs of ``size`` consecutive words in the normalised ``text``."""
    words = normalise_text(text).split()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


@dataclass(frozen=True)
class TextSignature:
    """A MinHash signature of a text's shingles, and how many distinct shingles it had."""

    minhashes: tuple[int, ...]
    shingle_count: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; the values as one hex string (8 digits each)."""
        return {
            "minhash": "".join(f"{value:08x}" for value in self.minhashes),
            "shingles": self.shingle_count,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TextSignature:
        """The inverse of :meth:`to_json`."""
        raw = data["minhash"]
        width = 2 * _HASH_BYTES
        values = tuple(int(raw[i : i + width], 16) for i in range(0, len(raw), width))
        return cls(values, int(data["shingles"]))

    def band_keys(self, bands: int = LSH_BANDS) -> tuple[str, ...]:
        """Locality-sensitive hashing keys: near duplicates share at least one, very likely.

        An index of these keys finds the candidates to compare with :func:`estimate_jaccard`
        without scanning every stored signature.
        """
        if bands <= 0 or len(self.minhashes) % bands:
            raise ValueError(f"{len(self.minhashes)} values do not split into {bands} bands")
        rows = len(self.minhashes) // bands
        keys = []
        for band in range(bands):
            chunk = self.minhashes[band * rows : (band + 1) * rows]
            packed = b"".join(value.to_bytes(_HASH_BYTES, "little") for value in chunk)
            keys.append(f"{band:02d}:{hashlib.blake2b(packed, digest_size=8).hexdigest()}")
        return tuple(keys)


def _hash_family(permutations: int) -> list[Any]:
    # Each digest of a personalised BLAKE2b gives 16 independent 32-bit hash values of a shingle;
    # ``permutations / 16`` personalisations give the whole family from a few C-level calls.
    if permutations <= 0 or permutations % _VALUES_PER_DIGEST:
        raise ValueError(f"permutations must be a positive multiple of {_VALUES_PER_DIGEST}")
    return [
        hashlib.blake2b(digest_size=64, person=b"bukti-minhash" + block.to_bytes(3, "little"))
        for block in range(permutations // _VALUES_PER_DIGEST)
    ]


_FAMILY = _hash_family(PERMUTATIONS)


def _minhashes(shingles: set[str], permutations: int) -> tuple[int, ...]:
    family = _FAMILY if permutations == PERMUTATIONS else _hash_family(permutations)
    encoded = [shingle.encode() for shingle in shingles]
    values: list[int] = []
    for base in family:

        def digest(data: bytes, base: Any = base) -> bytes:
            hasher = base.copy()
            hasher.update(data)
            return bytes(hasher.digest())

        # All digests side by side as one array of uint32; position p of every digest is the
        # slice [p::16], so each minimum runs in C instead of a Python loop per shingle.
        table = array.array("I", b"".join(map(digest, encoded)))
        if sys.byteorder == "big":
            table.byteswap()  # the values are defined little-endian, whatever the machine
        values.extend(min(table[p::_VALUES_PER_DIGEST]) for p in range(_VALUES_PER_DIGEST))
    return tuple(values)


def text_signature(
    text: str,
    *,
    shingle_words: int = SHINGLE_WORDS,
    permutations: int = PERMUTATIONS,
    min_shingles: int = MIN_SHINGLES,
) -> TextSignature | None:
    """The MinHash signature of ``text``, or None when it is too short to compare."""
    shingles = word_shingles(text, shingle_words)
    if len(shingles) < max(min_shingles, 1):
        return None
    return TextSignature(_minhashes(shingles, permutations), len(shingles))


def estimate_jaccard(a: TextSignature, b: TextSignature) -> float:
    """The Jaccard similarity of the two texts' shingle sets, estimated from their signatures."""
    if len(a.minhashes) != len(b.minhashes):
        raise ValueError("signatures of different lengths cannot be compared")
    same = sum(x == y for x, y in zip(a.minhashes, b.minhashes, strict=True))
    return same / len(a.minhashes)


def is_near_duplicate(
    a: TextSignature | None,
    b: TextSignature | None,
    threshold: float = NEAR_DUPLICATE_JACCARD,
    min_shingles: int = MIN_SHINGLES,
) -> bool:
    """True when both texts are long enough and their estimated similarity reaches ``threshold``."""
    if a is None or b is None:
        return False
    if min(a.shingle_count, b.shingle_count) < max(min_shingles, 1):
        return False
    return estimate_jaccard(a, b) >= threshold


def min_equal_values(threshold: float = NEAR_DUPLICATE_JACCARD, values: int = PERMUTATIONS) -> int:
    """The fewest equal values of ``values`` that :func:`estimate_jaccard` puts at ``threshold``."""
    return next(same for same in range(values + 1) if same / values >= threshold)


def band_recall(same: int, rows: int, bands: int, values: int = PERMUTATIONS) -> float:
    """The probability that two signatures with ``same`` of ``values`` equal values share a band.

    The bands are ``bands`` disjoint runs of ``rows`` values (:meth:`TextSignature.band_keys`).
    The values come from independent hash functions, so which ``same`` of them are equal is a
    uniformly random choice; inclusion-exclusion over the bands that are equal throughout gives
    the chance that none is.
    """
    if not 0 <= same <= values or rows <= 0 or bands <= 0 or rows * bands > values:
        raise ValueError(f"{bands} bands of {rows} in {values} values, {same} equal")
    missed: int = sum(
        (-1) ** taken
        * math.comb(bands, taken)
        * math.comb(values - taken * rows, same - taken * rows)
        for taken in range(min(bands, same // rows) + 1)
    )
    return 1 - missed / math.comb(values, same)
