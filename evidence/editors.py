"""Names of image editors, as they appear in EXIF Software or XMP CreatorTool, kept as data.

Phones write their firmware into these tags (Samsung the build, "A145FXXU1AWA1"; Pixels
"HDR+ 1.0.541323597zd"; iPhones the iOS version, "17.1.2"; Xiaomi "MIUI Camera"), so Bukti
never treats "any Software" as an edit: only a name below, matched as a whole word and
ignoring case, is. Add names here; no code changes are needed.
"""

from __future__ import annotations

import re

EDITORS: tuple[str, ...] = (
    # desktop and web
    "Photoshop",  # also Photoshop Express, Camera Raw ("Adobe Photoshop Camera Raw 15.0")
    "Lightroom",  # "Adobe Photoshop Lightroom Classic 13.0 (Windows)", Lightroom mobile
    "Adobe Express",
    "GIMP",
    "Paint.NET",
    "Affinity Photo",
    "Pixelmator",
    "Luminar",
    "Capture One",
    "darktable",
    "RawTherapee",
    "PhotoScape",
    "Photopea",
    "PaintShop",
    "ACDSee",
    "Picasa",
    "Fotor",
    "Canva",
    "Pixlr",
    "ImageMagick",
    "GraphicsMagick",
    # phone editors, with the beauty and collage apps popular in Indonesia
    "Snapseed",
    "PicsArt",
    "Meitu",
    "BeautyPlus",
    "BeautyCam",
    "AirBrush",
    "Facetune",
    "VSCO",
    "PhotoDirector",
    "Polarr",
    "Remini",
    "Photo Lab",
    "PhotoRoom",
    "PicSay",
    "YouCam",
    "InShot",
    "CapCut",
    "Hypic",
    "Prisma",
    "Afterlight",
    "Toolwiz",
    "PhotoGrid",
    "Lensa",
    # the generic name of many store apps: "Photo Editor Pro", "Photo Editor - Polish"
    "Photo Editor",
)

# Whole words only: "Canva" must not match "Canvas", nor a name hide inside a firmware build.
_EDITOR_PATTERN = re.compile(
    r"(?<![a-z0-9])(" + "|".join(re.escape(name) for name in EDITORS) + r")(?![a-z])",
    re.IGNORECASE,
)


def editor_named_in(text: str | None) -> str | None:
    """The editor a Software/CreatorTool value names, as listed in EDITORS; None for any other."""
    if not text:
        return None
    found = _EDITOR_PATTERN.search(text)
    if found is None:
        return None
    matched = found.group(1).casefold()
    return next(name for name in EDITORS if name.casefold() == matched)
