"""An item as the API shows it: its status, facts, hashes, flags, sizes, archive and reviews.

The evidence routes answer with it, and so does the intake (:mod:`api.intake`) with the item
it recorded; the review routes show a decision with ``review_out``.
"""

from __future__ import annotations

from sqlalchemy.orm import object_session

from api.auth import Principal
from api.flag_views import related_items, render_flag
from api.schemas import Archive, EvidenceOut, ReviewOut, Sizes
from api.web.i18n import Translator
from storage.models import Evidence, Review

_API_LANGUAGE = Translator("en")


def evidence_out(item: Evidence, backend: str, reader: Principal | None = None) -> EvidenceOut:
    """The API view of an item, in SPEC's shape, its flags told as ``reader`` may read them
    (without a reader: what anyone may read)."""
    review = item.reviews[-1] if item.reviews else None
    db = object_session(item)
    related = related_items(db, item.flags) if db is not None else {}
    perceptual = item.perceptual or {}
    return EvidenceOut(
        id=item.id,
        status=item.status,
        kind=item.kind,
        mime=item.mime,
        teacher_id=item.teacher_id,
        activity_id=item.activity_id,
        attendance_id=item.attendance_id,
        month=item.month,
        requirement=item.requirement,
        video_id=item.video_id,
        source_url=item.source_url,
        received_at=item.received_at,
        processed_at=item.processed_at,
        reason=item.reason,
        facts=item.facts,
        hashes={"sha256": item.sha256, **perceptual},
        flags=[
            render_flag(
                f,
                reader,
                related.get(f.related_evidence_id) if f.related_evidence_id else None,
                _API_LANGUAGE,
                as_stored=True,
            )
            for f in item.flags
        ],
        sizes=Sizes(
            original_bytes=item.original_bytes,
            stored_bytes=item.stored_bytes,
            rendition_bytes=item.rendition_bytes,
        ),
        archive=Archive(
            original_key=item.original_key,
            rendition_key=item.rendition_key,
            preview_key=item.preview_key,
            archived_at=item.archived_at,
            backend=backend,
        ),
        review=review_out(review) if review else None,
        reviews=[review_out(r) for r in item.reviews],
        answers_evidence_id=item.answers_evidence_id,
    )


def review_out(review: Review) -> ReviewOut:
    """A decision as the API shows it."""
    return ReviewOut(
        decision=review.decision,
        reviewer_id=review.reviewer_id,
        reason_code=review.reason_code,
        reason=review.reason,
        at=review.at,
    )
