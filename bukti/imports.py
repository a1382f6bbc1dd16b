"""Importing schools and teachers from CSV: all or nothing, idempotent, every bad row named.

Rows are matched to what is stored by a natural key — a school by its name (case and spacing
ignored), a teacher by NIP — so importing a file again updates those records instead of
duplicating them. Only the file's columns are written: a column left out keeps its value.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.schemas import SchoolIn, TeacherIn
from storage.models import School, Teacher

#: files longer than this report their progress (every tenth)
PROGRESS_FROM_ROWS = 1000


@dataclass
class ImportReport:
    """What an import did, or the rows that stopped it."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _school_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def read_rows(
    path: Path, model: type[BaseModel], report: ImportReport, progress: Callable[[str], None]
) -> list[tuple[int, BaseModel, set[str]]]:
    """The file's valid rows with their line numbers and columns; bad rows go to the report."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append(f"{path.name}: not UTF-8 text (save the sheet as CSV UTF-8)")
        return []
    lines = text.splitlines()
    reader = csv.DictReader(lines)
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = sorted(set(header) - set(model.model_fields))
    if not header or unknown:
        report.errors.append(
            f"{path.name} line 1: the header names unknown columns {unknown}; "
            f"the columns are {', '.join(model.model_fields)}"
        )
        return []
    total = max(len(lines) - 1, 0)
    rows = []
    for number, cells in enumerate(reader, start=2):
        if total >= PROGRESS_FROM_ROWS and (number - 1) % max(total // 10, 1) == 0:
            progress(f"checked {number - 1:,} of {total:,} rows")
        given = {k.strip(): v.strip() for k, v in cells.items() if k and v and v.strip()}
        try:
            rows.append((number, model.model_validate(given), set(given)))
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"]) or "row"
                report.errors.append(f"{path.name} line {number}, field '{where}': {error['msg']}")
    return rows


def import_schools(session: Session, path: Path, progress: Callable[[str], None]) -> ImportReport:
    """Add or update schools, matched by name."""
    report = ImportReport()
    rows = read_rows(path, SchoolIn, report, progress)
    stored = {_school_key(s.name): s for s in session.scalars(select(School))}
    seen: dict[str, int] = {}
    for number, row, _ in rows:
        assert isinstance(row, SchoolIn)
        key = _school_key(row.name)
        if key in seen:
            report.errors.append(
                f"{path.name} line {number}: school {row.name!r} repeats line {seen[key]}"
            )
        seen[key] = number
    if report.errors:
        return report
    for _, row, columns in rows:
        assert isinstance(row, SchoolIn)
        values = row.model_dump(include=columns | {"name"})
        if "calendar" in values:
            values["calendar"] = [entry.model_dump(mode="json") for entry in row.calendar]
        _upsert(session, stored.get(_school_key(row.name)), School, values, report)
    return report


def import_teachers(session: Session, path: Path, progress: Callable[[str], None]) -> ImportReport:
    """Add or update teachers, matched by NIP."""
    report = ImportReport()
    rows = read_rows(path, TeacherIn, report, progress)
    schools = set(session.scalars(select(School.id)))
    stored = {t.nip: t for t in session.scalars(select(Teacher))}
    seen: dict[str, int] = {}
    for number, row, _ in rows:
        assert isinstance(row, TeacherIn)
        if row.school_id not in schools:
            report.errors.append(
                f"{path.name} line {number}, field 'school_id': no school {row.school_id}"
            )
        if row.nip in seen:
            report.errors.append(
                f"{path.name} line {number}: NIP {row.nip} repeats line {seen[row.nip]}"
            )
        seen[row.nip] = number
    if report.errors:
        return report
    for _, row, columns in rows:
        assert isinstance(row, TeacherIn)
        _upsert(
            session, stored.get(row.nip), Teacher, row.model_dump(include=columns | {"nip"}), report
        )
    return report


def _upsert(
    session: Session,
    record: Any,
    model: type[School] | type[Teacher],
    values: dict[str, Any],
    report: ImportReport,
) -> None:
    if record is None:
        session.add(model(**values))
        report.added += 1
        return
    changed = {k: v for k, v in values.items() if getattr(record, k) != v}
    for name, value in changed.items():
        setattr(record, name, value)
    if changed:
        report.updated += 1
    else:
        report.unchanged += 1
