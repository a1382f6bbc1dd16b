"""Browser assets are vendored from the registry by scripts/vendor-assets, never edited."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from api.web.render import STATIC_DIR, TEMPLATES_DIR

VENDOR = STATIC_DIR / "vendor"


def test_vendored_files_are_exactly_what_the_registry_package_held() -> None:
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())

    assert manifest, "run scripts/vendor-assets"
    for name, package in manifest.items():
        for filename, sha256 in package["files"].items():
            data = (VENDOR / name / filename).read_bytes()
            assert hashlib.sha256(data).hexdigest() == sha256, f"{name}/{filename} was edited"
        assert package["licence"], f"{name} has no licence file"
        assert all(lic in package["files"] for lic in package["licence"])


def test_pages_load_nothing_from_another_host() -> None:
    for template in [*TEMPLATES_DIR.rglob("*.html"), *STATIC_DIR.glob("*.css")]:
        text = template.read_text()
        outside = re.findall(r"""(?:src|href|url)\s*[=(]\s*["']?(https?:)?//""", text)
        assert outside == [], f"{template.name} loads from another host"


def test_every_vendored_directory_is_in_the_manifest() -> None:
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    directories = {path.name for path in VENDOR.iterdir() if path.is_dir()}
    assert directories == set(manifest)
    assert all(isinstance(Path(VENDOR / d), Path) for d in directories)
