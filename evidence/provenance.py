"""Signs that a photo did not come straight from a camera: chat-app names and screen sizes.

Both lists are data: add a pattern or a screen width here, and the rule picks it up.
"""

from __future__ import annotations

import re

# (who names files this way, pattern searched in the file name, ignoring case)
CHAT_FILE_NAMES: tuple[tuple[str, str], ...] = (
    # WhatsApp on Android saves what it receives as IMG-20261013-WA0011.jpg (VID-, AUD-, ...).
    ("WhatsApp", r"^(?:IMG|VID|AUD|PTT|STK|DOC)-\d{8}-WA\d+"),
    # WhatsApp Web, Desktop and iOS exports: "WhatsApp Image 2026-10-13 at 07.15.02.jpeg", and
    # in Indonesian "Gambar WhatsApp 2026-10-13 pukul 07.15.02_4f3c2a1b.jpg".
    ("WhatsApp", r"\bwhatsapp\b"),
    # Telegram Desktop: photo_2026-10-13_07-15-02.jpg, sometimes with " (2)".
    ("Telegram", r"^photo_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}"),
    ("Telegram", r"\btelegram\b"),
    # Facebook saves photos as FB_IMG_<epoch ms>.jpg; Messenger as received_<id>.jpeg.
    ("Facebook", r"^FB_IMG_\d{10,}"),
    ("Messenger", r"^received_\d{6,}"),
    # Android "Screenshot_20261013-071502.png" (Xiaomi adds the app: "..._com.whatsapp.jpg"),
    # macOS "Screenshot 2026-10-13 at 07.15.02.png", "Screen Shot ...", and Windows in
    # Indonesian: "Tangkapan layar 2026-10-13 071502.png", "Cuplikan layar ...".
    ("a screenshot tool", r"^screen ?shot|^tangkapan layar|^cuplikan layar"),
)

# The short side, in pixels, of phone screens (portrait width): iPhone SE/8 (750), XR/11
# (828), 12-14 (1170), 14 Pro-16 (1179, 1206), Plus/Max (1242, 1284, 1290, 1320); Android HD+
# (720), FHD+ (1080) and QHD+ (1440), which covers the budget phones teachers carry.
SCREEN_SHORT_SIDES_PX = frozenset(
    {640, 720, 750, 828, 1080, 1125, 1170, 1179, 1206, 1242, 1284, 1290, 1320, 1440}
)

# Phone screens run from 16:9 (1.78; iPhone 5's 640x1136 is 1.775) to 21:9 (2.33); camera
# photos are 4:3 or 1:1, and a camera's 16:9 mode still writes its make and model.
SCREEN_ASPECT_RANGE = (1.77, 2.34)

_CHAT_PATTERNS = tuple(
    (who, re.compile(pattern, re.IGNORECASE)) for who, pattern in CHAT_FILE_NAMES
)


def chat_app_naming(filename: str | None) -> str | None:
    """Who names files like this one (WhatsApp, Telegram, ...), or None for a camera-like name."""
    if not filename:
        return None
    # Browsers and some clients send a path ("C:\\fakepath\\IMG-...jpg"); only the name counts.
    name = re.split(r"[\\/]", filename)[-1].strip()
    for who, pattern in _CHAT_PATTERNS:
        if pattern.search(name):
            return who
    return None


def is_screen_sized(width: int, height: int) -> bool:
    """True when the image has the pixel size of a phone screen (either orientation)."""
    short, long = sorted((width, height))
    if short not in SCREEN_SHORT_SIDES_PX:
        return False
    low, high = SCREEN_ASPECT_RANGE
    return low <= long / short <= high
