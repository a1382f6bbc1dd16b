"""The README is what users run and read: keep it true to the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pikepdf
from PIL import ExifTags, Image

from bukti.settings import Settings
from tests.fixtures.readme import readme_section, shell_blocks

REPO = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [name for name in Settings.model_fields if f"BUKTI_{name.upper()}" not in readme]
    assert missing == []


def test_ci_runs_the_readmes_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "./scripts/test" in readme and "./scripts/run" in readme
    assert "exec ./scripts/test" in ci


def test_every_flag_code_is_in_the_readmes_flag_table_with_its_severity() -> None:
    from evidence.flags import SEVERITY

    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("### Flags") :]
    missing = [
        code.value
        for code, severity in SEVERITY.items()
        if f"| `{code.value}` | {severity.value} |" not in table
    ]
    assert missing == []


def test_the_walk_through_sends_each_sample_file_by_its_path() -> None:
    walk_through = shell_blocks(readme_section("Using it"))[1]
    sent = re.findall(r"file=@(\S+)", walk_through)
    samples = [*(REPO / "samples").glob("*.jpg"), *(REPO / "samples").glob("*.pdf")]
    assert sorted(sent) == sorted(str(path.relative_to(REPO)) for path in samples)


def test_every_youtube_link_of_the_walk_through_has_its_recorded_answer() -> None:
    start, walk_through = shell_blocks(readme_section("Using it"))[:2]
    directory = re.search(r"BUKTI_YOUTUBE_SOURCE=recorded:(\S+)", start)
    assert directory is not None
    recorded = {json.loads(path.read_text())["id"] for path in (REPO / directory[1]).glob("*.json")}
    linked = re.findall(r"https://youtu\.be/([\w-]{11})", walk_through)
    assert len(linked) == 2
    assert set(linked) <= recorded


def test_the_samples_script_makes_the_samples_again(tmp_path: Path) -> None:
    from samples.make import make

    made = make(tmp_path)
    committed = REPO / "samples"
    assert sorted(p.name for p in made) == sorted(
        p.name for p in (*committed.glob("*.jpg"), *committed.glob("*.pdf"))
    )
    for path in made:
        if path.suffix == ".jpg":
            with Image.open(path) as new, Image.open(committed / path.name) as old:
                assert (new.size, new.getexif()) == (old.size, old.getexif())
                assert new.getexif().get_ifd(ExifTags.IFD.Exif) == old.getexif().get_ifd(
                    ExifTags.IFD.Exif
                )
                assert new.getexif().get_ifd(ExifTags.IFD.GPSInfo) == old.getexif().get_ifd(
                    ExifTags.IFD.GPSInfo
                )
        else:
            assert pikepdf.open(path).docinfo == pikepdf.open(committed / path.name).docinfo
