"""The video rendition's preset and CRF have one benchmarked default."""

from __future__ import annotations

from bukti.settings import Settings
from workers.video import DEFAULT_CRF, DEFAULT_PRESET


def test_the_settings_default_to_the_benchmarked_preset_and_crf() -> None:
    fields = Settings.model_fields
    assert (fields["video_preset"].default, fields["video_crf"].default) == (
        DEFAULT_PRESET,
        DEFAULT_CRF,
    )
