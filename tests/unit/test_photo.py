"""The photo path: refusing unusable files, reading capture facts, rendering and hashing."""

from __future__ import annotations

import hashlib
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile

from bukti.errors import RejectedError
from tests.fixtures.photos import GpsFix, PhotoFactory, build_exif, sample, with_raw_rationals
from workers.phash import perceptual_hashes
from workers.photo import (
    extract_photo_facts,
    hash_photo,
    process_photo,
    render_photo,
    validate_photo,
)
from workers.photos import decode as decode_module

MAX_PIXELS = 120_000_000
FORMATS = ["jpeg", "png", "webp", "heic", "avif"]
BANDUNG = GpsFix(-6.914744, 107.609810, accuracy_m=4.5, altitude_m=768.0)


def distance(a: int, b: int) -> int:
    """Hamming distance of two 64-bit hashes."""
    return (a ^ b).bit_count()


def reason_of(call) -> str:
    with pytest.raises(RejectedError) as refused:
        call()
    return refused.value.reason


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("format", FORMATS)
def test_accepts_a_complete_photo_in_each_format(make_photo: PhotoFactory, format: str) -> None:
    path = make_photo(format=format, size=(320, 240))

    checked = validate_photo(path, MAX_PIXELS)

    assert checked.sniffed.mime.startswith("image/")
    assert (checked.width, checked.height) == (320, 240)


def test_rejects_truncated_jpeg_with_reason(make_photo: PhotoFactory) -> None:
    cut = make_photo.truncated(make_photo(), keep=0.6)

    reason = reason_of(lambda: validate_photo(cut, MAX_PIXELS))

    assert reason.startswith("truncated:")
    assert "JPEG" in reason


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_rejects_truncated_photo_in_each_format(
    make_photo: PhotoFactory, format: str, keep: float
) -> None:
    cut = make_photo.truncated(make_photo(format=format, size=(320, 240)), keep=keep)

    assert reason_of(lambda: validate_photo(cut, MAX_PIXELS)).startswith("truncated:")


def test_rejects_jpeg_cut_short_and_padded_with_zeros(make_photo: PhotoFactory) -> None:
    # libjpeg decodes this without complaint; the missing end marker gives it away.
    padded = make_photo.truncated(make_photo(), keep=0.5, pad="zeros")

    assert reason_of(lambda: validate_photo(padded, MAX_PIXELS)).startswith("truncated:")


def test_rejects_png_missing_its_end_chunk(make_photo: PhotoFactory) -> None:
    path = make_photo(format="png")
    path.write_bytes(path.read_bytes()[:-12])  # exactly the IEND chunk: the pixels are all there

    assert reason_of(lambda: validate_photo(path, MAX_PIXELS)).startswith("truncated:")


def test_rejects_truncated_jpeg_patched_with_an_end_marker(make_photo: PhotoFactory) -> None:
    patched = make_photo.truncated(make_photo(), keep=0.5, pad="eoi")

    reason = reason_of(lambda: validate_photo(patched, MAX_PIXELS))
    assert reason.startswith(("truncated:", "not decodable:")), reason


def test_rejects_jpeg_with_corrupt_data_mid_way(make_photo: PhotoFactory) -> None:
    path = make_photo()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff\xd3" * 32  # restart markers where no restart may be
    path.write_bytes(bytes(data))
    assert reason_of(lambda: validate_photo(path, MAX_PIXELS)).startswith(
        ("truncated:", "not decodable:")
    )


@pytest.mark.parametrize("size", [(800, 600), (600, 800)])
def test_the_strict_check_decodes_at_an_eighth(
    make_photo: PhotoFactory, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    # The check's cheapest pass: 1/8 scale, whatever the orientation. simplejpeg's header gives
    # height before width; read the other way round a landscape photo decoded at 1/4.
    path = make_photo(size=size)
    decoded: list[tuple[int, ...]] = []
    decode = decode_module.simplejpeg.decode_jpeg

    def recording(*args: Any, **kwargs: Any) -> Any:
        pixels = decode(*args, **kwargs)
        decoded.append(pixels.shape[:2])
        return pixels

    monkeypatch.setattr(decode_module.simplejpeg, "decode_jpeg", recording)
    validate_photo(path, MAX_PIXELS)

    assert decoded == [(size[1] // 8, size[0] // 8)]


def test_rejects_corrupt_png_data_as_not_decodable(make_photo: PhotoFactory) -> None:
    path = make_photo(format="png")
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 200
    data[start : start + 200] = bytes(range(200))
    path.write_bytes(bytes(data))

    assert reason_of(lambda: validate_photo(path, MAX_PIXELS)).startswith("not decodable:")


def test_rejects_text_named_jpg_as_not_a_photo(make_photo: PhotoFactory) -> None:
    path = make_photo.disguised("text")

    assert reason_of(lambda: validate_photo(path, MAX_PIXELS)).startswith("not a photo:")


def test_rejects_png_behind_jpeg_magic_as_disguised(make_photo: PhotoFactory) -> None:
    path = make_photo.disguised("png_as_jpeg")

    reason = reason_of(lambda: validate_photo(path, MAX_PIXELS))

    assert reason.startswith("disguised:")
    assert "JPEG" in reason


def test_rejects_a_video_sent_as_a_photo(make_photo: PhotoFactory) -> None:
    path = make_photo.disguised("video_as_jpeg")

    assert "video" in reason_of(lambda: validate_photo(path, MAX_PIXELS))


def test_bomb_is_refused_without_decoding(
    make_photo: PhotoFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = make_photo.bomb_png(30_000, 30_000)  # 900 MP, about 110 KB on disk

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("the bomb was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)

    reason = reason_of(lambda: validate_photo(bomb, MAX_PIXELS))

    assert reason.startswith("too large:")
    assert "900 megapixels" in reason
    assert bomb.stat().st_size < 200_000


def test_photo_over_the_per_call_limit_is_refused_unread(
    make_photo: PhotoFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_photo(size=(400, 300))
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded"))

    reason = reason_of(lambda: validate_photo(path, max_pixels=100_000))

    assert reason.startswith("too large: 400x300")


def test_per_call_limit_above_pillows_own_decides(
    make_photo: PhotoFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pillow warns above Image.MAX_IMAGE_PIXELS (process-wide); the per-call limit is the rule.
    path = make_photo(size=(400, 200))  # 80,000 pixels: over Pillow's limit, under twice it
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)

    assert validate_photo(path, max_pixels=100_000).width == 400
    assert reason_of(lambda: validate_photo(path, max_pixels=40_000)).startswith("too large:")


def test_leaves_the_process_warning_filters_as_they_were(make_photo: PhotoFactory) -> None:
    path = make_photo()
    before = list(warnings.filters)

    validate_photo(path, MAX_PIXELS)
    reason_of(lambda: validate_photo(make_photo.bomb_png(10_000, 10_000), 50_000_000))

    assert warnings.filters == before


def test_concurrent_checks_leave_the_warning_filters_alone(make_photo: PhotoFactory) -> None:
    photo, bomb = make_photo(size=(160, 120)), make_photo.bomb_png(10_000, 10_000)
    before = list(warnings.filters)

    def check(path: Path) -> str:
        try:
            return validate_photo(path, 50_000_000).sniffed.mime
        except RejectedError as refused:
            return refused.reason

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(check, [photo, bomb] * 20))

    assert outcomes[0::2] == ["image/jpeg"] * 20
    assert all(reason.startswith("too large:") for reason in outcomes[1::2])
    assert warnings.filters == before


# --- facts ------------------------------------------------------------------------------------


def test_reads_capture_time_with_offset(make_photo: PhotoFactory) -> None:
    path = make_photo(captured=datetime(2024, 3, 5, 7, 12, 33), subsec="12", offset="+07:00")

    facts = extract_photo_facts(path)

    assert facts.captured_local is not None and facts.utc_offset_min is not None
    assert facts.captured_local.value == datetime(2024, 3, 5, 7, 12, 33, 120_000)
    assert facts.captured_local.source == "exif:DateTimeOriginal"
    assert facts.utc_offset_min.value == 420
    assert facts.utc_offset_min.source == "exif:OffsetTimeOriginal"


def test_offset_falls_back_to_the_modification_offset(make_photo: PhotoFactory) -> None:
    exif = build_exif(captured=datetime(2024, 3, 5, 7, 12), modified_offset="+08:00")
    path = make_photo(exif=exif)

    facts = extract_photo_facts(path)

    assert facts.utc_offset_min is not None
    assert (facts.utc_offset_min.value, facts.utc_offset_min.source) == (480, "exif:OffsetTime")


def test_capture_time_without_offset_has_no_offset(make_photo: PhotoFactory) -> None:
    facts = extract_photo_facts(make_photo(captured=datetime(2024, 3, 5, 7, 12)))

    assert facts.captured_local is not None
    assert facts.utc_offset_min is None


def test_southern_latitude_is_negative(make_photo: PhotoFactory) -> None:
    facts = extract_photo_facts(make_photo(gps=BANDUNG))

    assert facts.location is not None
    assert facts.location.source == "exif:GPS"
    assert facts.location.value.lat == pytest.approx(-6.914744, abs=1e-6)
    assert facts.location.value.lon == pytest.approx(107.609810, abs=1e-6)


def test_western_longitude_is_negative(make_photo: PhotoFactory) -> None:
    facts = extract_photo_facts(make_photo(gps=(40.7128, -74.0060)))

    assert facts.location is not None
    assert facts.location.value.lat == pytest.approx(40.7128, abs=1e-6)
    assert facts.location.value.lon == pytest.approx(-74.0060, abs=1e-6)


def test_reads_altitude_accuracy_and_gps_time(make_photo: PhotoFactory) -> None:
    path = make_photo(gps=BANDUNG, gps_time_utc=datetime(2024, 3, 5, 0, 11, 58, 500_000))

    facts = extract_photo_facts(path)

    assert facts.location is not None and facts.gps_time_utc is not None
    assert facts.location.value.altitude_m == pytest.approx(768.0)
    assert facts.location.value.accuracy_m == pytest.approx(4.5)
    assert facts.gps_time_utc.value == datetime(2024, 3, 5, 0, 11, 58, 500_000, tzinfo=UTC)
    assert facts.gps_time_utc.source == "exif:GPSTimeStamp"


def test_altitude_below_sea_level_is_negative(make_photo: PhotoFactory) -> None:
    facts = extract_photo_facts(make_photo(gps=GpsFix(-6.1, 106.8, altitude_m=-3.5)))

    assert facts.location is not None
    assert facts.location.value.altitude_m == pytest.approx(-3.5)


def test_reads_device_software_modification_and_thumbnail(make_photo: PhotoFactory) -> None:
    path = make_photo(
        make="samsung",
        model="SM-A546E",
        software="A546EXXU4BWK1",
        modified=datetime(2024, 3, 5, 7, 13, 2),
        thumbnail=True,
    )

    facts = extract_photo_facts(path)

    assert facts.make is not None and facts.model is not None and facts.software is not None
    assert (facts.make.value, facts.make.source) == ("samsung", "exif:Make")
    assert facts.model.value == "SM-A546E"
    assert (facts.software.value, facts.software.source) == ("A546EXXU4BWK1", "exif:Software")
    assert facts.modified_local is not None
    assert facts.modified_local.value == datetime(2024, 3, 5, 7, 13, 2)
    assert facts.has_exif_thumbnail
    assert facts.has_camera_tags


def test_creator_tool_is_read_from_xmp(make_photo: PhotoFactory) -> None:
    facts = extract_photo_facts(make_photo(creator_tool="Adobe Photoshop 25.0 (Windows)"))

    assert facts.creator_tool is not None
    assert facts.creator_tool.value == "Adobe Photoshop 25.0 (Windows)"
    assert facts.creator_tool.source == "xmp:CreatorTool"


def test_xmp_date_created_stands_in_for_a_missing_exif_time(make_photo: PhotoFactory) -> None:
    facts = extract_photo_facts(make_photo(xmp_date_created="2024-03-05T07:12:33.5+07:00"))

    assert facts.captured_local is not None and facts.utc_offset_min is not None
    assert facts.captured_local.value == datetime(2024, 3, 5, 7, 12, 33, 500_000)
    assert facts.captured_local.source == "xmp:photoshop:DateCreated"
    assert facts.utc_offset_min.value == 420


def test_size_is_reported_upright(make_photo: PhotoFactory) -> None:
    facts = extract_photo_facts(make_photo(size=(480, 640), orientation=6))

    assert (facts.width, facts.height) == (480, 640)
    assert facts.orientation is not None and facts.orientation.value == 6


def test_heic_photo_facts_are_read(make_photo: PhotoFactory) -> None:
    path = make_photo(
        format="heic",
        size=(320, 240),
        captured=datetime(2024, 3, 5, 7, 12, 33),
        offset="+07:00",
        gps=BANDUNG,
        make="Apple",
        model="iPhone 13",
        software="17.1.2",
        orientation=6,
    )

    facts = extract_photo_facts(path)

    assert facts.format == "image/heic"
    assert facts.captured_local is not None and facts.location is not None
    assert facts.captured_local.value == datetime(2024, 3, 5, 7, 12, 33)
    assert facts.utc_offset_min is not None and facts.utc_offset_min.value == 420
    assert facts.location.value.lat == pytest.approx(-6.914744, abs=1e-6)
    assert facts.make is not None and facts.make.value == "Apple"
    assert facts.orientation is not None and facts.orientation.value == 6
    assert (facts.width, facts.height) == (320, 240)


def test_photo_without_metadata_has_no_facts(make_photo: PhotoFactory) -> None:
    facts = extract_photo_facts(make_photo(format="png"))

    assert facts.captured_local is None
    assert facts.location is None
    assert facts.software is None
    assert not facts.has_camera_tags
    assert not facts.has_exif_thumbnail


_GPS = ExifTags.GPS


def _both_times(value: str) -> dict[int, str]:
    # A camera with a broken clock writes the same garbage into both capture-time tags.
    return {ExifTags.Base.DateTimeOriginal: value, ExifTags.Base.DateTimeDigitized: value}


@pytest.mark.parametrize(
    ("options", "missing"),
    [
        ({"exif_ifd": _both_times("0000:00:00 00:00:00")}, "captured"),
        ({"exif_ifd": _both_times("    :  :     :  :  ")}, "captured"),
        ({"exif_ifd": _both_times("2024:02:30 07:00:00")}, "captured"),
        ({"exif_ifd": {ExifTags.Base.OffsetTimeOriginal: "+25:00"}}, "offset"),
        ({"exif_ifd": {ExifTags.Base.OffsetTimeOriginal: "WIB"}}, "offset"),
        ({"gps_ifd": {_GPS.GPSLatitude: (95.0, 0.0, 0.0)}}, "location"),
        ({"gps_ifd": {_GPS.GPSLatitude: (6.0, 75.0, 0.0)}}, "location"),
        ({"gps_ifd": {_GPS.GPSLatitudeRef: None}}, "location"),
        ({"gps_ifd": {_GPS.GPSLongitudeRef: "X"}}, "location"),
        (
            {"gps_ifd": {_GPS.GPSLatitude: (0.0, 0.0, 0.0), _GPS.GPSLongitude: (0.0,) * 3}},
            "location",
        ),
        ({"gps_ifd": {_GPS.GPSTimeStamp: (25.0, 0.0, 0.0)}}, "gps_time"),
        ({"gps_ifd": {_GPS.GPSDateStamp: "2024:13:45"}}, "gps_time"),
        ({"ifd0": {ExifTags.Base.Orientation: 9}}, "orientation"),
        ({"ifd0": {ExifTags.Base.Make: "\x00\x00\x00"}}, "make"),
    ],
)
def test_malformed_values_are_missing_not_errors(
    make_photo: PhotoFactory, options: dict, missing: str
) -> None:
    path = make_photo(
        captured=datetime(2024, 3, 5, 7, 12),
        offset="+07:00",
        gps=BANDUNG,
        gps_time_utc=datetime(2024, 3, 5, 0, 12),
        make="Apple",
        orientation=1,
        **options,
    )

    facts = extract_photo_facts(path)

    values = {
        "captured": facts.captured_local,
        "offset": facts.utc_offset_min,
        "location": facts.location,
        "gps_time": facts.gps_time_utc,
        "orientation": facts.orientation,
        "make": facts.make,
    }
    assert values.pop(missing) is None
    assert all(value is not None for value in values.values())


@pytest.mark.parametrize(
    ("tag", "rationals", "check"),
    [
        (_GPS.GPSLatitude, [(6, 1), (54, 0), (0, 0)], lambda f: f.location is None),
        (_GPS.GPSHPositioningError, [(5, 0)], lambda f: f.location.value.accuracy_m is None),
        (_GPS.GPSAltitude, [(0, 0)], lambda f: f.location.value.altitude_m is None),
        (_GPS.GPSTimeStamp, [(0, 1), (12, 0), (0, 1)], lambda f: f.gps_time_utc is None),
    ],
)
def test_zero_denominators_yield_missing_values(
    make_photo: PhotoFactory, tag: int, rationals: list[tuple[int, int]], check
) -> None:
    exif = build_exif(gps=BANDUNG, gps_time_utc=datetime(2024, 3, 5, 0, 12))
    path = make_photo(exif=with_raw_rationals(exif, ExifTags.IFD.GPSInfo, tag, rationals))

    assert check(extract_photo_facts(path))


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_garbage_exif_block_yields_no_facts(make_photo: PhotoFactory) -> None:
    path = make_photo(exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + bytes(range(64)))

    facts = extract_photo_facts(path)

    assert facts.captured_local is None
    assert facts.width == 640


# --- rendition --------------------------------------------------------------------------------


def test_rendition_applies_orientation_and_strips_gps(make_photo: PhotoFactory, tmp_path) -> None:
    path = make_photo(
        size=(480, 640), orientation=6, gps=BANDUNG, creator_tool="Snapseed", thumbnail=True
    )
    out = tmp_path / "rendition.jpg"

    rendition = render_photo(path, out)

    with Image.open(out) as image:
        assert image.size == (480, 640) == (rendition.width, rendition.height)
        assert not image.getexif()
        assert "xmp" not in image.info and "comment" not in image.info
        upright = perceptual_hashes(sample(size=(480, 640))).phash
        assert distance(perceptual_hashes(image).phash, upright) <= 6
    assert b"GPS" not in out.read_bytes()
    assert rendition.mime == "image/jpeg" and not rendition.reused_original


def test_rendition_of_a_12_mp_jpeg_uses_dct_scaling(make_photo: PhotoFactory, tmp_path) -> None:
    path = make_photo(size=(4000, 3000), source="coffee")

    rendition = render_photo(path, tmp_path / "r.jpg")

    # 1/2 scale in the decoder: 2000x1500, close enough to 2048 to need no resample.
    assert (rendition.width, rendition.height) == (2000, 1500)


def test_rendition_long_side_is_capped(make_photo: PhotoFactory, tmp_path) -> None:
    path = make_photo(format="png", size=(1200, 3000), source="rocket")

    rendition = render_photo(path, tmp_path / "r.jpg", max_side_px=1024)

    # a box reduction by 3 (no Lanczos pass): within 10 % of the cap, never over it
    assert (rendition.width, rendition.height) == (400, 1000)


def test_rendition_of_a_photo_just_over_the_cap_is_resampled_to_it(
    make_photo: PhotoFactory, tmp_path
) -> None:
    path = make_photo(format="png", size=(1200, 1600), source="rocket")

    rendition = render_photo(path, tmp_path / "r.jpg", max_side_px=1024)

    assert (rendition.width, rendition.height) == (768, 1024)


@pytest.mark.parametrize(
    ("format", "mode"),
    [
        ("jpeg", "CMYK"),
        ("jpeg", "L"),
        ("png", "RGBA"),
        ("png", "P"),
        ("png", "LA"),
        ("png", "1"),
        ("webp", "RGBA"),
        ("heic", None),
        ("avif", None),
    ],
)
def test_rendition_is_a_plain_jpeg_whatever_came_in(
    make_photo: PhotoFactory, tmp_path: Path, format: str, mode: str | None
) -> None:
    path = make_photo(format=format, mode=mode, size=(320, 240))
    out = tmp_path / "r.jpg"

    render_photo(path, out)

    with Image.open(out) as image:
        assert image.format == "JPEG"
        assert image.mode in ("RGB", "L")
        assert image.size == (320, 240)


def test_transparent_png_is_flattened_on_white(make_photo: PhotoFactory, tmp_path: Path) -> None:
    clear = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    out = tmp_path / "r.jpg"

    render_photo(make_photo(format="png", image=clear), out)

    with Image.open(out) as image:
        assert all(channel >= 250 for channel in image.convert("RGB").getpixel((32, 32)))


def test_sixteen_bit_png_keeps_its_tones(make_photo: PhotoFactory, tmp_path: Path) -> None:
    grey = np.asarray(sample(size=(128, 96)).convert("L"), dtype=np.uint16) * 257
    out = tmp_path / "r.jpg"

    render_photo(make_photo(format="png", image=Image.fromarray(grey)), out)

    with Image.open(out) as image:
        assert abs(np.asarray(image, dtype=float).mean() - grey.mean() / 257) < 3


def test_small_jpeg_is_reused_without_its_metadata(make_photo: PhotoFactory, tmp_path) -> None:
    path = make_photo(quality=60, gps=BANDUNG, make="Xiaomi", thumbnail=True)
    out = tmp_path / "r.jpg"

    rendition = render_photo(path, out)

    assert rendition.reused_original
    assert rendition.size_bytes == out.stat().st_size < path.stat().st_size
    with Image.open(out) as reused, Image.open(path) as original:
        assert not reused.getexif()
        assert np.array_equal(np.asarray(reused), np.asarray(original))


def test_rotated_small_jpeg_is_encoded_not_reused(make_photo: PhotoFactory, tmp_path) -> None:
    rendition = render_photo(make_photo(quality=60, orientation=6), tmp_path / "r.jpg")

    assert not rendition.reused_original


def test_rendition_keeps_the_colour_profile(make_photo: PhotoFactory, tmp_path) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = sample(size=(320, 240))
    source.info["icc_profile"] = profile
    out = tmp_path / "r.jpg"

    render_photo(make_photo(format="png", image=source), out)

    with Image.open(out) as image:
        assert image.info.get("icc_profile") == profile


def test_rendition_leaves_no_temporary_files(make_photo: PhotoFactory, tmp_path) -> None:
    out_dir = tmp_path / "renditions"

    render_photo(make_photo(), out_dir / "r.jpg")

    assert [p.name for p in out_dir.iterdir()] == ["r.jpg"]


# --- thumbnail --------------------------------------------------------------------------------


def test_thumbnail_of_a_12_mp_photo_is_a_small_upright_jpeg_without_metadata(
    make_photo: PhotoFactory, tmp_path: Path
) -> None:
    # stored 4000x3000 and turned by its EXIF orientation: 3000x4000 upright
    path = make_photo(
        size=(3000, 4000),
        orientation=6,
        gps=BANDUNG,
        make="samsung",
        creator_tool="Snapseed",
        thumbnail=True,
    )
    out = tmp_path / "thumbnail.jpg"

    result = process_photo(path, tmp_path / "r.jpg", max_pixels=MAX_PIXELS, thumbnail_path=out)

    thumbnail = result.thumbnail
    assert thumbnail is not None
    data = out.read_bytes()
    assert thumbnail.size_bytes == len(data) < 30_000
    assert thumbnail.sha256 == hashlib.sha256(data).hexdigest()
    assert thumbnail.mime == "image/jpeg"
    with Image.open(out) as image:
        assert image.format == "JPEG"
        # the rendition's 1500x2000 box-averaged by 7, as the hashes shrink it
        assert image.size == (thumbnail.width, thumbnail.height) == (215, 286)
        assert not image.getexif()
        assert "xmp" not in image.info and "comment" not in image.info
        upright = perceptual_hashes(sample(size=(3000, 4000))).phash
        assert distance(perceptual_hashes(image).phash, upright) <= 6
    assert b"GPS" not in data and b"samsung" not in data and b"Snapseed" not in data


@pytest.mark.parametrize(
    ("format", "mode", "thumbnail_mode"),
    [("jpeg", "L", "L"), ("jpeg", "CMYK", "RGB"), ("png", "RGBA", "RGB"), ("heic", None, "RGB")],
)
def test_thumbnail_is_a_plain_jpeg_whatever_came_in(
    make_photo: PhotoFactory, tmp_path: Path, format: str, mode: str | None, thumbnail_mode: str
) -> None:
    path = make_photo(format=format, mode=mode, size=(1600, 1200))
    out = tmp_path / "thumbnail.jpg"

    process_photo(path, tmp_path / "r.jpg", max_pixels=MAX_PIXELS, thumbnail_path=out)

    with Image.open(out) as image:
        assert image.format == "JPEG"
        assert image.mode == thumbnail_mode
        assert 256 <= max(image.size) < 512
        assert image.width / image.height == pytest.approx(4 / 3, rel=0.02)


def test_thumbnail_keeps_the_colour_profile(make_photo: PhotoFactory, tmp_path: Path) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = sample(size=(1024, 768))
    source.info["icc_profile"] = profile
    out = tmp_path / "thumbnail.jpg"

    process_photo(
        make_photo(format="png", image=source),
        tmp_path / "r.jpg",
        max_pixels=MAX_PIXELS,
        thumbnail_path=out,
    )

    with Image.open(out) as image:
        assert image.info.get("icc_profile") == profile


def test_no_thumbnail_is_written_unless_asked_for(make_photo: PhotoFactory, tmp_path) -> None:
    result = process_photo(make_photo(), tmp_path / "r.jpg", max_pixels=MAX_PIXELS)

    assert result.thumbnail is None
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".jpg"] == ["r.jpg"]


# --- hashes and the fast path -----------------------------------------------------------------


def test_sha256_is_of_the_original_bytes(make_photo: PhotoFactory) -> None:
    path = make_photo()

    assert hash_photo(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("format", ["jpeg", "heic"])
def test_fast_path_agrees_with_the_separate_steps(
    make_photo: PhotoFactory, tmp_path: Path, format: str
) -> None:
    path = make_photo(
        format=format,
        size=(480, 360),
        captured=datetime(2024, 3, 5, 7, 12),
        gps=BANDUNG,
        orientation=8,
        thumbnail=True,
    )

    result = process_photo(
        path, tmp_path / "fast.jpg", max_pixels=MAX_PIXELS, thumbnail_path=tmp_path / "t.jpg"
    )

    # making the thumbnail on the way changes none of what the separate steps give
    assert result.checked == validate_photo(path, MAX_PIXELS)
    assert result.facts == extract_photo_facts(path)
    assert result.hashes == hash_photo(path)
    assert result.exif_thumbnail_distance == result.hashes.exif_thumbnail_distance is not None
    assert result.rendition == render_photo(path, tmp_path / "slow.jpg")
    assert (tmp_path / "fast.jpg").read_bytes() == (tmp_path / "slow.jpg").read_bytes()
    written = hashlib.sha256((tmp_path / "fast.jpg").read_bytes()).hexdigest()
    assert result.rendition.sha256 == written


def test_perceptual_hash_does_not_depend_on_orientation(make_photo: PhotoFactory) -> None:
    upright = hash_photo(make_photo(size=(480, 640)))
    turned = hash_photo(make_photo(size=(480, 640), orientation=6))

    assert distance(upright.perceptual.phash, turned.perceptual.phash) <= 4


def test_heic_and_jpeg_of_one_picture_hash_alike(make_photo: PhotoFactory) -> None:
    jpeg = hash_photo(make_photo(size=(320, 240), source="chelsea"))
    heic = hash_photo(make_photo(format="heic", size=(320, 240), source="chelsea"))
    other = hash_photo(make_photo(size=(320, 240), source="coffee"))

    assert distance(jpeg.perceptual.phash, heic.perceptual.phash) <= 6
    assert distance(jpeg.perceptual.phash, other.perceptual.phash) > 16


def test_thumbnail_of_another_picture_hashes_apart(
    make_photo: PhotoFactory, tmp_path: Path
) -> None:
    camera = make_photo(orientation=6, thumbnail=True)
    edited = make_photo(thumbnail=sample("coffee", (640, 480)))

    own = process_photo(camera, tmp_path / "a.jpg", max_pixels=MAX_PIXELS)
    other = process_photo(edited, tmp_path / "b.jpg", max_pixels=MAX_PIXELS)

    assert own.exif_thumbnail_distance is not None and own.exif_thumbnail_distance <= 8
    assert other.exif_thumbnail_distance is not None and other.exif_thumbnail_distance > 16


def test_photo_without_thumbnail_has_no_thumbnail_distance(
    make_photo: PhotoFactory, tmp_path: Path
) -> None:
    result = process_photo(make_photo(), tmp_path / "r.jpg", max_pixels=MAX_PIXELS)

    assert result.exif_thumbnail_distance is None
    assert hash_photo(make_photo()).exif_thumbnail_distance is None


def test_untouched_photo_with_flat_edges_matches_its_own_thumbnail(make_photo) -> None:  # type: ignore[no-untyped-def]
    """Found by the accuracy set: trimming flat edges differently made own thumbnails differ."""
    from PIL import ImageDraw

    from tests.fixtures.photos import sample
    from workers.photo import hash_photo

    picture = sample("coffee", (1024, 768))
    # a flat sky over the top third, as classroom and outdoor photos often have
    ImageDraw.Draw(picture).rectangle((0, 0, 1023, 250), fill=(200, 215, 230))
    path = make_photo(image=picture, size=None, thumbnail=True, make="samsung")
    hashes = hash_photo(path)
    assert hashes.exif_thumbnail_distance is not None
    assert hashes.exif_thumbnail_distance <= 10


def test_letterboxed_thumbnail_of_a_wide_photo_is_not_an_edit(make_photo) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    from tests.fixtures.photos import sample
    from workers.photo import hash_photo

    wide = sample("astronaut", (1280, 720))
    thumb = Image.new("RGB", (160, 120))
    thumb.paste(wide.resize((160, 90)), (0, 15))
    path = make_photo(image=wide, size=None, thumbnail=thumb, make="samsung")
    assert (hash_photo(path).exif_thumbnail_distance or 0) <= 10


def test_thumbnail_of_another_picture_is_far(make_photo) -> None:  # type: ignore[no-untyped-def]
    from tests.fixtures.photos import sample
    from workers.photo import hash_photo

    path = make_photo(source="coffee", thumbnail=sample("astronaut", (160, 120)), make="samsung")
    assert (hash_photo(path).exif_thumbnail_distance or 0) > 20


def test_near_uniform_picture_is_not_compared_with_its_thumbnail(make_photo) -> None:  # type: ignore[no-untyped-def]
    """Found by the accuracy set: flat wallpaper tiles hashed 24-26 bits from their thumbnail."""
    from PIL import Image

    from workers.photo import hash_photo

    wall = Image.effect_noise((1024, 768), 6).convert("RGB")
    path = make_photo(image=wall, size=None, thumbnail=True, make="samsung")
    assert hash_photo(path).exif_thumbnail_distance is None


def test_png_exif_after_the_image_data_is_read_and_the_picture_still_decodes(
    make_photo: PhotoFactory,
) -> None:
    from evidence.sniff import sniff
    from workers.photos.metadata import read_facts

    before = make_photo(format="png", captured=datetime(2024, 3, 5, 7, 12), make="samsung")
    path = make_photo.exif_after_image_data(before)
    sniffed = sniff(path.read_bytes()[:4096])
    assert sniffed is not None
    with Image.open(path) as image:
        assert "exif" not in image.info  # Pillow finds it only on decode
        facts = read_facts(image, sniffed)
        image.load()  # the chunk walk left the file where the decoder expects it
        assert image.getpixel((0, 0)) is not None
    assert facts.captured_local is not None
    assert facts.captured_local.value == datetime(2024, 3, 5, 7, 12)
    assert facts.make is not None and facts.make.value == "samsung"


# --- big PNGs, decoded band by band -----------------------------------------------------------


def _png_in_mode(path: Path, mode: str, size: tuple[int, int] = (999, 700)) -> Path:
    """A real picture saved as a PNG in ``mode`` (Pillow picks each row's filter: all five)."""
    picture = sample("coffee", size)
    if mode == "P+tRNS":
        picture.quantize(64).save(path, transparency=3)
    elif mode in ("RGBA", "LA"):
        alpha = Image.linear_gradient("L").resize(size).point(lambda v: 255 - v // 2)
        converted = picture.convert(mode)
        converted.putalpha(alpha)
        converted.save(path)
    else:
        picture.convert(mode).save(path)
    return path


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P+tRNS", "L", "LA"])
@pytest.mark.parametrize("factor", [1, 3])
def test_png_decoded_in_bands_is_the_whole_decode(tmp_path: Path, mode: str, factor: int) -> None:
    from workers.photos.decode import reduced_to_rgb_or_l
    from workers.photos.png_bands import reduced_png

    path = _png_in_mode(tmp_path / "big.png", mode)
    with Image.open(path) as whole:
        whole.load()
        expected = reduced_to_rgb_or_l(whole, factor)

    # bands of a few rows each: dozens of band boundaries, and a short band at the bottom
    stride = 999 * {"RGB": 3, "RGBA": 4, "P+tRNS": 1, "L": 1, "LA": 2}[mode] + 1
    banded = reduced_png(path.read_bytes(), factor, reduced_to_rgb_or_l, band_bytes=stride * 7)

    assert banded is not None
    assert (banded.mode, banded.size) == (expected.mode, expected.size)
    assert banded.tobytes() == expected.tobytes()


def test_big_png_gives_the_same_rendition_and_hashes_in_bands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workers.photos.decode

    path = _png_in_mode(tmp_path / "big.png", "RGBA", size=(2600, 1950))
    whole = process_photo(path, tmp_path / "whole.jpg", max_pixels=MAX_PIXELS)
    monkeypatch.setattr(workers.photos.decode, "PNG_BAND_MIN_PIXELS", 0)
    banded = process_photo(path, tmp_path / "banded.jpg", max_pixels=MAX_PIXELS)

    assert banded == whole
    assert (tmp_path / "banded.jpg").read_bytes() == (tmp_path / "whole.jpg").read_bytes()
    assert validate_photo(path, MAX_PIXELS) == whole.checked


def test_png_whose_image_data_ends_early_is_truncated_in_bands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zlib

    import workers.photos.decode

    path = _png_in_mode(tmp_path / "big.png", "RGB")
    data = path.read_bytes()
    start = data.index(b"IDAT") - 4
    end = data.index(b"IEND") - 4
    rows = zlib.decompress(b"".join(_idat_bodies(data)))
    short = zlib.compress(rows[: len(rows) // 2])  # a whole zlib stream, half the rows
    chunk = len(short).to_bytes(4, "big") + b"IDAT" + short
    chunk += zlib.crc32(b"IDAT" + short).to_bytes(4, "big")
    path.write_bytes(data[:start] + chunk + data[end:])
    monkeypatch.setattr(workers.photos.decode, "PNG_BAND_MIN_PIXELS", 0)

    assert reason_of(lambda: validate_photo(path, MAX_PIXELS)).startswith("truncated:")
    out = tmp_path / "r.jpg"
    reason = reason_of(lambda: process_photo(path, out, max_pixels=MAX_PIXELS))
    assert reason.startswith("truncated:")


def _idat_bodies(data: bytes) -> list[bytes]:
    bodies, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            bodies.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return bodies


def test_corrupt_png_data_is_not_decodable_in_bands(
    make_photo: PhotoFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workers.photos.decode

    path = make_photo(format="png")
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 200
    data[start : start + 200] = bytes(range(200))
    path.write_bytes(bytes(data))
    monkeypatch.setattr(workers.photos.decode, "PNG_BAND_MIN_PIXELS", 0)

    assert reason_of(lambda: validate_photo(path, MAX_PIXELS)).startswith("not decodable:")


@pytest.mark.parametrize("kind", ["interlaced", "16-bit", "1-bit"])
def test_pngs_that_cannot_be_cut_into_bands_are_decoded_whole(tmp_path: Path, kind: str) -> None:
    import zlib

    from workers.photos.decode import reduced_to_rgb_or_l
    from workers.photos.png_bands import reduced_png

    path = tmp_path / "p.png"
    picture = sample("coffee", (64, 48))
    if kind == "interlaced":  # Pillow writes no Adam7: the header says so, which is what counts
        picture.save(path)
        data = bytearray(path.read_bytes())
        data[28] = 1  # IHDR's interlace method
        data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
        path.write_bytes(bytes(data))
    elif kind == "16-bit":
        picture.convert("I;16").save(path)
    else:
        picture.convert("1").save(path)

    assert reduced_png(path.read_bytes(), 2, reduced_to_rgb_or_l) is None


def test_png_at_the_pixel_limit_is_rendered_in_bounded_memory(make_photo: PhotoFactory) -> None:
    """Whole, a 100 MP RGB PNG is 400 MB in Pillow; in bands the worker grows by a fraction."""
    import subprocess
    import sys
    import zlib

    width, height = 10_000, 10_000
    row = b"\x01" + bytes(range(256)) * (width * 3 // 256) + bytes(width * 3 % 256)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    path = make_photo.directory / "huge.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from workers.photo import process_photo\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "made = process_photo(Path(sys.argv[1]), Path(sys.argv[2]), max_pixels=120_000_000)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(made.rendition.width, made.rendition.height, (after - before) // 1024)\n"
    )
    out = make_photo.directory / "huge.jpg"
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    width_px, height_px, growth_mb = map(int, done.stdout.split())
    assert (width_px, height_px) == (2000, 2000)
    assert growth_mb < 120, done.stdout


@pytest.mark.parametrize("max_side_px", [2048, 200])
def test_big_heic_gives_the_same_rendition_and_hashes_in_bands(
    make_photo: PhotoFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_side_px: int
) -> None:
    """libheif decodes whole; Pillow gets its pixels a few rows at a time, reduced on the way."""
    import workers.photos.decode

    path = make_photo(format="heic", size=(640, 480), orientation=6, thumbnail=True)
    monkeypatch.setattr(
        workers.photos.decode, "HEIF_BAND_MIN_PIXELS", 10**12
    )  # Pillow's plugin, whole
    whole = process_photo(
        path, tmp_path / "whole.jpg", max_pixels=MAX_PIXELS, max_side_px=max_side_px
    )
    assert validate_photo(path, MAX_PIXELS) == whole.checked
    monkeypatch.setattr(workers.photos.decode, "HEIF_BAND_MIN_PIXELS", 0)
    monkeypatch.setattr(
        workers.photos.decode, "_HEIF_BAND_BYTES", 480 * 3 * 7
    )  # bands of 6 or 7 rows
    banded = process_photo(
        path, tmp_path / "banded.jpg", max_pixels=MAX_PIXELS, max_side_px=max_side_px
    )

    assert banded == whole
    assert (tmp_path / "banded.jpg").read_bytes() == (tmp_path / "whole.jpg").read_bytes()
    assert validate_photo(path, MAX_PIXELS) == whole.checked
