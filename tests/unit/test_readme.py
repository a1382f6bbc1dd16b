"""The README is what users run and read: keep it true to the code."""

from __future__ import annotations

from pathlib import Path

from bukti.settings import Settings

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
