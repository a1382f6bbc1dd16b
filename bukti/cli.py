"""The `bukti` command line for operators: serve, migrate, users, imports, usage."""

from __future__ import annotations

import argparse
import contextlib
import csv
import getpass
import json
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select

from bukti import logs
from bukti.bootstrap import Services
from bukti.errors import BuktiError, ConflictError, InvalidRequestError, NotFoundError
from bukti.settings import Settings, get_settings
from bukti.supervisor import Supervisor, stop_process_group
from evidence.failures import FailureReason
from storage.audit import Actor
from storage.audit_hook import acting_as

if TYPE_CHECKING:
    from bukti.operations import Filters
    from workers.broker import Enqueuer

log = logging.getLogger("bukti")


class CommandError(Exception):
    """Raised for a command that cannot be carried out; printed as one line, exit 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `bukti` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        settings = get_settings()
        logs.configure_logging(settings.log_level, settings.log_format)
        acting_as.set(Actor(None, f"cli ({getpass.getuser()})"))
        result: int = args.run(settings, args)
        return result
    except (
        CommandError,
        ValidationError,
        NotFoundError,
        ConflictError,
        InvalidRequestError,
    ) as exc:
        # what the operator asked for cannot be done as asked: one line, exit 2
        print(f"bukti: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # an operator gets one line; the traceback is in the log at debug level
        log.debug("command failed", exc_info=True)
        print(f"bukti: {type(exc).__name__}: {_first_line(exc)}", file=sys.stderr)
        return 1


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no detail"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bukti", description=__doc__)
    sub = parser.add_subparsers(title="commands")

    serve = sub.add_parser("serve", help="run the API and the workers (and Redis if needed)")
    serve.add_argument("--workers", type=int, help="worker processes (default: setting)")
    serve.add_argument("--no-workers", action="store_true", help="run the API only")
    serve.set_defaults(run=cmd_serve)

    worker = sub.add_parser(
        "worker",
        help="run worker processes only (for a separate machine), restarting each one that dies",
        description="Run worker processes under a supervisor that restarts each one that dies. "
        "Run this command itself under a service manager that restarts it: the systemd unit "
        "in deploy/systemd/, or a container restart policy (docker/compose.yaml). SIGTERM "
        "stops the workers, each after the message in hand.",
    )
    worker.add_argument("--processes", type=int, help="worker processes (default: setting)")
    worker.add_argument(
        "--check",
        action="store_true",
        help="exit 0 when a worker on this host has beaten recently, 1 otherwise (healthcheck)",
    )
    worker.set_defaults(run=cmd_worker)

    migrate = sub.add_parser("migrate", help="bring the database to the newest schema")
    migrate.set_defaults(run=cmd_migrate)

    user = sub.add_parser("user", help="manage users").add_subparsers(title="user commands")
    add = user.add_parser("add", help="create a user and print their token once")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=["teacher", "reviewer", "admin"])
    add.add_argument("--teacher-id", type=int)
    add.add_argument("--school-id", type=int)
    add.add_argument("--login", help="sign-in name of a reviewer or admin (teachers use the NIP)")
    add.add_argument(
        "--password",
        action="store_true",
        help="also set a password for the pages (asked for, or read from standard input)",
    )
    add.set_defaults(run=cmd_user_add)
    listing = user.add_parser("list", help="list users (no tokens)")
    listing.set_defaults(run=cmd_user_list)
    for verb, active in (("deactivate", False), ("activate", True)):
        switch = user.add_parser(verb, help=f"{verb} a user (users are never deleted)")
        switch.add_argument("user_id", type=int)
        switch.set_defaults(run=cmd_user_active, active=active)

    token = sub.add_parser("token", help="manage bearer tokens").add_subparsers(
        title="token commands"
    )
    tlist = token.add_parser("list", help="a user's tokens, without their secrets")
    tlist.add_argument("--user-id", type=int, required=True)
    tlist.set_defaults(run=cmd_token_list)
    tadd = token.add_parser("add", help="issue another token for a user; printed once")
    tadd.add_argument("--user-id", type=int, required=True)
    tadd.add_argument("--label", default="token")
    tadd.set_defaults(run=cmd_token_add)
    for verb in ("revoke", "rotate"):
        change = token.add_parser(verb, help=f"{verb} a token by its id")
        change.add_argument("token_id", type=int)
        change.set_defaults(run=cmd_token_change, verb=verb)
    password = user.add_parser("password", help="set a user's password for the pages")
    who = password.add_mutually_exclusive_group(required=True)
    who.add_argument("--login", help="the user's login (a teacher's NIP)")
    who.add_argument("--user-id", type=int)
    password.set_defaults(run=cmd_user_password)

    imp = sub.add_parser("import", help="import schools, teachers or school calendars from CSV")
    imp.add_argument("what", choices=["schools", "teachers", "calendar"])
    imp.add_argument("file", type=Path, help="CSV with a header row of SPEC's field names")
    imp.set_defaults(run=cmd_import)

    requeue = sub.add_parser(
        "requeue",
        help="queue again unfinished items held by no live job (whatever the queue lost)",
    )
    requeue.add_argument(
        "--older-than-s",
        type=float,
        default=0,
        help="only items due at least this long ago (default: every one not held by a job)",
    )
    _item_filters(requeue)
    requeue.set_defaults(run=cmd_requeue)

    retry = sub.add_parser("retry", help="send failed items through the pipeline again")
    retry.add_argument("--status", choices=["failed"], default="failed")
    retry.add_argument(
        "--reason",
        choices=[reason.value for reason in FailureReason],
        help="only items failed for this reason",
    )
    _item_filters(retry)
    retry.set_defaults(run=cmd_retry)

    close = sub.add_parser("close-month", help="flag teachers missing a monthly video")
    close.add_argument("--month", help="YYYY-MM (default: the month that closed last)")
    close.set_defaults(run=cmd_close_month)

    usage = sub.add_parser(
        "usage", help="bytes received, held, saved and removed by school, teacher, kind, ..."
    )
    usage.add_argument(
        "--by", choices=["school", "teacher", "kind", "month", "class"], default="kind"
    )
    usage.add_argument("--json", action="store_true", help="print JSON instead of a table")
    usage.set_defaults(run=cmd_usage)

    uploads = sub.add_parser("uploads", help="uploads on the data directory's disk")
    clean = uploads.add_subparsers(title="uploads commands").add_parser(
        "clean",
        help="remove abandoned resumable uploads and orphaned staged files now "
        "(the API does it by itself)",
    )
    clean.set_defaults(run=cmd_uploads_clean)

    _storage_admin_parsers(sub)

    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(title="audit commands")
    verify = audit.add_parser("verify", help="walk the hash chain and report the first break")
    verify.set_defaults(run=cmd_audit_verify)
    return parser


def _storage_admin_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    retention = sub.add_parser(
        "retention", help="retention policy, runs (dry run, then confirm) and restores"
    ).add_subparsers(title="retention commands")
    policy = retention.add_parser("policy", help="print the policy in force, or set a new one")
    policy.add_argument(
        "--set",
        type=Path,
        metavar="FILE",
        help="a JSON list of rules {kind, outcome, keep_original_days, keep_copies_years}",
    )
    policy.set_defaults(run=cmd_retention_policy)
    run = retention.add_parser("run", help="plan a dry run, or apply a planned run")
    mode = run.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="report what would go, remove nothing")
    mode.add_argument("--confirm", type=int, metavar="RUN_ID", help="apply a planned run")
    run.add_argument("--as-of", type=date.fromisoformat, help="YYYY-MM-DD (default: today)")
    run.add_argument("--report", type=Path, help="also write the dry run's report as CSV here")
    run.set_defaults(run=cmd_retention_run)
    runs = retention.add_parser("runs", help="list retention runs and their progress")
    runs.set_defaults(run=cmd_retention_runs)
    restore = retention.add_parser("restore", help="bring back an item's removed copies")
    restore.add_argument("evidence_id", type=int)
    restore.set_defaults(run=cmd_retention_restore)

    scrub = sub.add_parser(
        "scrub", help="read archived objects back and compare their SHA-256 with the record"
    )
    scrub.add_argument("--sample", type=int, help="check this many, least recently checked first")
    scrub.set_defaults(run=cmd_scrub)

    hold = sub.add_parser("hold", help="legal holds").add_subparsers(title="hold commands")
    place = hold.add_parser("place", help="place a legal hold")
    target = place.add_mutually_exclusive_group(required=True)
    target.add_argument("--evidence-id", type=int)
    target.add_argument("--teacher-id", type=int)
    target.add_argument("--school-id", type=int)
    target.add_argument("--dates", metavar="FROM..TO", help="YYYY-MM-DD..YYYY-MM-DD")
    place.add_argument("--reason", required=True)
    place.set_defaults(run=cmd_hold_place)
    release = hold.add_parser("release", help="release a legal hold")
    release.add_argument("hold_id", type=int)
    release.add_argument("--reason", required=True)
    release.set_defaults(run=cmd_hold_release)
    holds = hold.add_parser("list", help="the holds in force")
    holds.set_defaults(run=cmd_hold_list)


def _services(settings: Settings) -> Services:
    """The services of a command that works on an existing database.

    Run outside the checkout, a relative ``BUKTI_DATA_DIR`` would silently create a new,
    empty database: an embedded (SQLite) database that does not exist is refused instead.
    """
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise CommandError(
                f"no database at {path}: set BUKTI_DATA_DIR (or BUKTI_DATABASE_URL) to where "
                "Bukti keeps its data, or run `bukti migrate` to create one there"
            )
    services = Services(settings)
    services.prepare_dirs()
    return services


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Upgrade the database."""
    from storage.db import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    print("database is at the newest schema")
    return 0


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    """Create a user and print the token (the only time it is shown)."""
    from api.routes.directory import add_user
    from api.schemas import UserIn
    from storage.db import transaction
    from storage.models import School, Teacher

    body = UserIn(
        name=args.name,
        role=args.role,
        teacher_id=args.teacher_id,
        school_id=args.school_id,
        login=args.login,
        password=_read_password() if args.password else None,
    )
    services = _services(settings)
    with transaction(services.sessions) as session:
        if body.teacher_id is not None and session.get(Teacher, body.teacher_id) is None:
            raise CommandError(f"teacher {body.teacher_id} not found")
        if body.school_id is not None and session.get(School, body.school_id) is None:
            raise CommandError(f"school {body.school_id} not found")
        try:
            user, token = add_user(session, body)
        except BuktiError as exc:
            raise CommandError(str(exc)) from None
        user_id, login = user.id, user.login
    print(f"user {user_id} ({args.role}) created; their token, shown only now:")
    print(token)
    if body.password is not None:
        print(f"they sign in on the pages as {login}")
    return 0


def cmd_user_password(settings: Settings, args: argparse.Namespace) -> int:
    """Set a user's password for the pages (the user may then change it themselves)."""
    from sqlalchemy.orm import Session

    from api.auth import normalise_login
    from api.routes.directory import set_password
    from storage.db import transaction
    from storage.models import User

    services = _services(settings)

    def find(session: Session) -> User | None:
        if args.user_id is not None:
            return session.get(User, args.user_id)
        login = normalise_login(args.login)
        return session.scalar(select(User).where(func.lower(User.login) == login))

    with services.sessions() as session:
        if find(session) is None:
            raise CommandError(f"no user {args.user_id or args.login}")
    password = _read_password()
    with transaction(services.sessions) as session:
        user = find(session)
        assert user is not None
        try:
            set_password(session, user, password.get_secret_value())
        except BuktiError as exc:
            raise CommandError(str(exc)) from None
        signs_in_as = user.login
    print(f"password set; user {signs_in_as} signs in with it")
    return 0


def _read_password() -> SecretStr:
    """A new password: asked twice on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != first:
            raise CommandError("the two passwords differ")
    else:
        first = sys.stdin.readline().rstrip("\r\n")
    from api.auth import password_problem

    problem = password_problem(first)
    if problem is not None:
        raise CommandError(problem)
    return SecretStr(first)


def cmd_user_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print every user, one a line."""
    from storage.models import User

    with _services(settings).sessions() as session:
        for user in session.scalars(select(User).order_by(User.id)):
            scope = f"teacher {user.teacher_id}" if user.teacher_id else ""
            scope = f"school {user.school_id}" if user.school_id else scope
            state = "active" if user.is_active else "inactive"
            print(f"{user.id}\t{user.role}\t{state}\t{user.name}\t{scope}".rstrip())
    return 0


def cmd_user_active(settings: Settings, args: argparse.Namespace) -> int:
    """Deactivate or reactivate a user."""
    from storage.db import transaction
    from storage.models import User

    with transaction(_services(settings).sessions) as session:
        user = session.get(User, args.user_id)
        if user is None:
            raise CommandError(f"user {args.user_id} not found")
        user.is_active = args.active
    print(f"user {args.user_id} is {'active' if args.active else 'deactivated'}")
    return 0


def cmd_token_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print a user's tokens (never their secrets)."""
    from storage.models import ApiToken

    with _services(settings).sessions() as session:
        rows = session.scalars(
            select(ApiToken).where(ApiToken.user_id == args.user_id).order_by(ApiToken.id)
        ).all()
    if not rows:
        raise CommandError(f"user {args.user_id} has no tokens (or does not exist)")
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        print(f"{row.id}\t{row.label}\t{state}\tlast used {used}")
    return 0


def cmd_token_add(settings: Settings, args: argparse.Namespace) -> int:
    """Issue a token for a user and print it once."""
    from api.auth import issue_token
    from storage.db import transaction
    from storage.models import User

    with transaction(_services(settings).sessions) as session:
        user = session.get(User, args.user_id)
        if user is None:
            raise CommandError(f"user {args.user_id} not found")
        row, secret = issue_token(session, user, args.label)
        token_id = row.id
    print(f"token {token_id} for user {args.user_id}; its secret, shown only now:")
    print(secret)
    return 0


def cmd_token_change(settings: Settings, args: argparse.Namespace) -> int:
    """Revoke a token, or rotate it (revoke, and print its successor once)."""
    from api.auth import revoke_token, rotate_token
    from storage.db import transaction
    from storage.models import ApiToken

    with transaction(_services(settings).sessions) as session:
        row = session.get(ApiToken, args.token_id)
        if row is None:
            raise CommandError(f"token {args.token_id} not found")
        if args.verb == "revoke":
            revoke_token(row)
            print(f"token {args.token_id} is revoked")
            return 0
        if row.revoked_at is not None:
            raise CommandError(f"token {args.token_id} is revoked: add a new one instead")
        successor, secret = rotate_token(session, row)
        successor_id = successor.id
    print(f"token {args.token_id} is revoked; its successor {successor_id}, shown only now:")
    print(secret)
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import schools or teachers from a CSV file: all or nothing, again safely."""
    from bukti.imports import import_schools, import_teachers
    from storage.db import transaction

    if not args.file.is_file():
        raise CommandError(f"no such file: {args.file}")
    if args.what == "calendar":
        return _import_calendar(settings, args.file)
    run = import_schools if args.what == "schools" else import_teachers
    with transaction(_services(settings).sessions) as session:
        report = run(session, args.file, lambda note: print(f"bukti: {note}", file=sys.stderr))
        if report.errors:
            for error in report.errors:
                print(f"bukti: {error}", file=sys.stderr)
            raise CommandError(f"{len(report.errors)} problem(s) in {args.file}; nothing imported")
    key = "name" if args.what == "schools" else "NIP"
    print(
        f"imported {args.what} from {args.file.name}: {report.added} added, "
        f"{report.updated} updated, {report.unchanged} unchanged (matched by {key})"
    )
    return 0


CALENDAR_COLUMNS = (
    "school_id",
    "label",
    "start",
    "end",
    "weekdays",
    "check_in_by",
    "check_out_from",
    "day_off",
)


def _import_calendar(settings: Settings, path: Path) -> int:
    """Replace the calendars of the schools a CSV names with its rows, all or nothing.

    Columns: school_id, label, start, end (YYYY-MM-DD), weekdays (0 = Monday ... 6, several
    separated by spaces), check_in_by, check_out_from (HH:MM), day_off (yes/no). The national
    calendar stays beneath every school's own; hours and calendars are read when a day is,
    so no evidence needs verifying again.
    """
    from api.schemas import CalendarEntry
    from storage.db import transaction
    from storage.models import School

    entries: dict[int, list[dict[str, object]]] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [name.strip() for name in reader.fieldnames or []]
        unknown = sorted(set(header) - set(CALENDAR_COLUMNS))
        if "school_id" not in header or "label" not in header or unknown:
            raise CommandError(
                f"{path}:1: the header must name school_id, label and any of "
                f"{', '.join(CALENDAR_COLUMNS[2:])}"
                + (f" (not {', '.join(unknown)})" if unknown else "")
            )
        for line, cells in enumerate(reader, start=2):
            clean: dict[str, object] = {
                k.strip(): v.strip() for k, v in cells.items() if k and v and v.strip()
            }
            number = str(clean.pop("school_id", ""))
            if not number.isdigit():
                raise CommandError(f"{path}:{line}: school_id: a school's number, not {number!r}")
            if "weekdays" in clean:
                clean["weekdays"] = str(clean["weekdays"]).replace(";", " ").split()
            try:
                entry = CalendarEntry.model_validate(clean)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise CommandError(f"{path}:{line}: {where}: {first['msg']}") from None
            entries.setdefault(int(number), []).append(entry.model_dump(mode="json"))
    services = _services(settings)
    with transaction(services.sessions) as session:
        for school_id, rows in entries.items():
            found = session.get(School, school_id)
            if found is None:
                raise CommandError(f"{path}: school {school_id} not found; nothing imported")
            found.calendar = rows
    count = sum(len(rows) for rows in entries.values())
    print(f"imported {count} calendar entries for {len(entries)} school(s)")
    return 0


def _item_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--teacher-id", type=int, help="only this teacher's items")
    parser.add_argument(
        "--kind", choices=["photo", "video", "document", "youtube"], help="only items of a kind"
    )


def _filters(args: argparse.Namespace) -> Filters:
    from bukti.operations import Filters
    from evidence.status import Kind

    reason = getattr(args, "reason", None)
    return Filters(
        teacher_id=args.teacher_id,
        kind=Kind(args.kind) if args.kind else None,
        failure_reason=FailureReason(reason) if reason else None,
    )


def cmd_requeue(settings: Settings, args: argparse.Namespace) -> int:
    """Queue again unfinished items that no live job holds (the sweep's work, by hand)."""
    from bukti.operations import requeue_stranded
    from workers.broker import Enqueuer, build_broker

    if args.older_than_s < 0:
        raise CommandError("--older-than-s: a number of seconds, 0 or more")
    enqueue = Enqueuer(build_broker(settings))
    queued, failed = requeue_stranded(
        _services(settings), enqueue, args.older_than_s, _filters(args)
    )
    print(
        f"queued {queued} item(s)"
        + (f"; {failed} failed (their worker died each time)" if failed else "")
    )
    return 0


def cmd_retry(settings: Settings, args: argparse.Namespace) -> int:
    """Send failed items through the pipeline again, in order of receipt."""
    from bukti.operations import retry_failed
    from workers.broker import Enqueuer, build_broker

    enqueue = Enqueuer(build_broker(settings))
    ids = retry_failed(_services(settings), enqueue, _filters(args), "bukti retry")
    print(f"queued {len(ids)} failed item(s) again")
    return 0


def cmd_close_month(settings: Settings, args: argparse.Namespace) -> int:
    """Raise missing_monthly_video for a closed month (run again safely)."""
    from datetime import UTC, date, datetime

    from evidence.months import has_ended, previous_month
    from workers.months import close_month

    month = args.month or previous_month(date.today())
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise CommandError(f"a month is written YYYY-MM, not {month!r}")
    # the first place on Earth where a day ends: before then the month has ended nowhere
    if not has_ended(month, "Etc/GMT-14", datetime.now(UTC)):
        raise CommandError(f"{month} has not ended yet: a month is closed after its last day")
    print(f"{close_month(_services(settings), month)} missing monthly video(s) flagged for {month}")
    return 0


def cmd_usage(settings: Settings, args: argparse.Namespace) -> int:
    """Print usage and savings by one dimension: a table, or JSON with --json."""
    from storage.usage import usage

    services = _services(settings)
    with services.sessions() as session:
        rows, total = usage(session, args.by)
    if args.json:
        report = {"by": args.by, "rows": [r.to_json() for r in rows], "total": total.to_json()}
        print(json.dumps(report, indent=2))
        return 0
    columns = ("items", "received", "held", "dedup saved", "renditions saved", "removed")
    print(f"{args.by:<32} " + " ".join(f"{c:>16}" for c in columns))
    for row in [*rows, total]:
        figures = (
            row.items,
            _megabytes(row.received_bytes),
            _megabytes(row.held_bytes),
            _megabytes(row.saved_by_dedup_bytes),
            _megabytes(row.saved_by_renditions_bytes),
            _megabytes(row.removed_bytes),
        )
        print(f"{row.label[:32]:<32} " + " ".join(f"{f:>16}" for f in figures))
    return 0


def cmd_uploads_clean(settings: Settings, args: argparse.Namespace) -> int:
    """Remove what uploads nobody came back for left on disk; print how many and their size."""
    from api.upload_cleanup import remove_abandoned_uploads

    if not settings.data_dir.is_dir():
        raise CommandError(
            f"no data directory at {settings.data_dir}: set BUKTI_DATA_DIR to where Bukti "
            "keeps its data"
        )
    removed = remove_abandoned_uploads(settings)
    print(
        f"removed {removed.uploads} abandoned resumable upload(s) and {removed.staged} "
        f"orphaned staged file(s): {_megabytes(removed.size_bytes)}"
    )
    return 0


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.1f} MB"


def _cli_actor() -> Actor:
    return acting_as.get() or Actor.system("cli")


def cmd_retention_policy(settings: Settings, args: argparse.Namespace) -> int:
    """Print the retention policy in force, or put a new version in force."""
    from evidence.retention import Outcome, Rule
    from storage.db import transaction
    from storage.policies import active_policy, set_policy

    services = _services(settings)
    if args.set is not None:
        try:
            raw = json.loads(args.set.read_text())
            rules = [
                Rule(
                    str(r["kind"]),
                    Outcome(r["outcome"]),
                    r.get("keep_original_days"),
                    r.get("keep_copies_years"),
                )
                for r in raw
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"{args.set}: not a list of rules ({exc})") from None
        with transaction(services.sessions) as session:
            set_policy(session, rules, _cli_actor())
    with services.sessions() as session:
        version, active = active_policy(session)
    print(f"retention policy v{version} (kinds and outcomes not listed keep everything)")
    for rule in sorted(active.values(), key=lambda r: (r.kind, r.outcome)):
        original = (
            "as long as the copies"
            if rule.keep_original_days is None
            else (f"{rule.keep_original_days} days")
        )
        copies = "for ever" if rule.keep_copies_years is None else f"{rule.keep_copies_years} years"
        print(f"  {rule.outcome.value} {rule.kind}: original {original}, copies {copies}")
    return 0


def cmd_retention_run(settings: Settings, args: argparse.Namespace) -> int:
    """Plan a dry run and print its report, or apply a confirmed run with a progress bar."""
    from datetime import date as date_type

    from storage.db import transaction
    from storage.models import RetentionRemoval
    from storage.retention import apply_run, confirm_run, plan_run, run_progress

    services = _services(settings)
    actor = _cli_actor()
    if args.dry_run:
        with transaction(services.sessions) as session:
            run = plan_run(session, args.as_of or date_type.today(), actor)
            figures = run_progress(session, run.id)
            summary = dict(run.summary)
            removals = session.scalars(
                select(RetentionRemoval).where(RetentionRemoval.run_id == run.id)
            ).all()
            lines = [(r.evidence_id, r.klass, r.size_bytes, r.reason) for r in removals]
            run_id = run.id
        if args.report is not None:
            with args.report.open("w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(["evidence_id", "class", "bytes", "reason"])
                writer.writerows(lines)
        print(
            f"dry run {run_id}: {figures['planned']} copies of {figures['items']} items, "
            f"{_megabytes(figures['planned_bytes'])} "
            f"({_megabytes(summary['freed_bytes'])} freed; the rest is shared); "
            f"{summary['held_items']} items held back by legal holds "
            f"({_megabytes(summary['held_bytes'])})"
        )
        print(f"nothing was removed; to apply it: bukti retention run --confirm {run_id}")
        return 0
    with transaction(services.sessions) as session:
        confirm_run(session, args.confirm, actor)
    run = apply_run(
        services.sessions,
        services.store,
        args.confirm,
        settings.trash_days,
        actor,
        progress=_progress_bar,
    )
    with services.sessions() as session:
        figures = run_progress(session, run.id)
    print(
        f"run {run.id} {run.status}: {figures.get('removed', 0)} copies removed "
        f"({_megabytes(figures.get('removed_bytes', 0))}), {figures.get('shared', 0)} released "
        f"but still used by other items, {figures.get('held', 0)} held back by legal holds"
    )
    return 0


def _progress_bar(done: int, total: int) -> None:
    width = 30
    filled = width * done // total if total else width
    end = "\n" if done >= total else ""
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr)


def cmd_retention_runs(settings: Settings, args: argparse.Namespace) -> int:
    """List runs with their progress."""
    from storage.models import RetentionRun
    from storage.retention import run_progress

    services = _services(settings)
    with services.sessions() as session:
        for run in session.scalars(select(RetentionRun).order_by(RetentionRun.id.desc())):
            figures = run_progress(session, run.id)
            print(
                f"{run.id:>5} {run.status:<10} as of {run.as_of} policy v{run.policy_version} "
                f"{figures['done']}/{figures['planned']} copies, "
                f"{_megabytes(figures['planned_bytes'])}, planned by {run.planned_by}"
            )
    return 0


def cmd_retention_restore(settings: Settings, args: argparse.Namespace) -> int:
    """Restore an item's removed copies from the trash."""
    from storage.db import transaction
    from storage.retention import restore_item

    services = _services(settings)
    with transaction(services.sessions) as session:
        copies = restore_item(session, services.store, args.evidence_id, _cli_actor())
    for copy in copies:
        print(f"restored {copy.klass} {copy.key} ({copy.size_bytes} bytes)")
    return 0


def cmd_scrub(settings: Settings, args: argparse.Namespace) -> int:
    """Verify archived objects; exit 1 when one is missing or altered."""
    from storage.scrub import scrub

    if args.sample is not None and args.sample < 1:
        raise CommandError("--sample is a number of objects, 1 or more")
    services = _services(settings)
    report = scrub(services.sessions, services.store, _cli_actor(), args.sample, _progress_bar)
    for key in report.repaired:
        print(f"repaired from an earlier version: {key}")
    for finding in report.findings:
        users = ", ".join(str(i) for i in finding.evidence_ids) or "none"
        print(f"{finding.problem}: {finding.klass} {finding.key} (evidence {users})")
    print(
        f"checked {report.checked} objects ({_megabytes(report.bytes_read)}): "
        f"{len(report.findings)} missing or altered"
    )
    return 1 if report.findings else 0


def cmd_hold_place(settings: Settings, args: argparse.Namespace) -> int:
    """Place a legal hold."""
    from evidence.retention import HoldScope
    from storage.db import transaction
    from storage.holds import HoldRequest, place_hold

    if args.dates is not None:
        start, _, end = args.dates.partition("..")
        try:
            date_from = date.fromisoformat(start) if start else None
            date_to = date.fromisoformat(end) if end else None
        except ValueError:
            raise CommandError(f"--dates is FROM..TO in YYYY-MM-DD, not {args.dates!r}") from None
        request = HoldRequest(HoldScope.DATES, args.reason, date_from=date_from, date_to=date_to)
    elif args.evidence_id is not None:
        request = HoldRequest(HoldScope.EVIDENCE, args.reason, evidence_id=args.evidence_id)
    elif args.teacher_id is not None:
        request = HoldRequest(HoldScope.TEACHER, args.reason, teacher_id=args.teacher_id)
    else:
        request = HoldRequest(HoldScope.SCHOOL, args.reason, school_id=args.school_id)
    services = _services(settings)
    try:
        with transaction(services.sessions) as session:
            hold = place_hold(session, request, _cli_actor(), services.store)
            hold_id = hold.id
    except BuktiError as exc:
        raise CommandError(str(exc)) from None
    print(f"hold {hold_id} placed")
    return 0


def cmd_hold_release(settings: Settings, args: argparse.Namespace) -> int:
    """Release a legal hold."""
    from storage.db import transaction
    from storage.holds import release_hold

    services = _services(settings)
    try:
        with transaction(services.sessions) as session:
            release_hold(session, args.hold_id, args.reason, _cli_actor(), services.store)
    except BuktiError as exc:
        raise CommandError(str(exc)) from None
    print(f"hold {args.hold_id} released")
    return 0


def cmd_hold_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print the holds in force."""
    from storage.models import LegalHold

    services = _services(settings)
    with services.sessions() as session:
        for hold in session.scalars(
            select(LegalHold).where(LegalHold.released_at.is_(None)).order_by(LegalHold.id)
        ):
            target = {
                "evidence": f"evidence {hold.evidence_id}",
                "teacher": f"teacher {hold.teacher_id}",
                "school": f"school {hold.school_id}",
            }.get(hold.scope, f"days {hold.date_from or '…'}..{hold.date_to or '…'}")
            print(
                f"{hold.id:>5} {target}: {hold.reason} (by {hold.placed_by}, {hold.placed_at:%Y-%m-%d})"
            )
    return 0


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Walk the audit chain; exit 1 and name the first broken entry when it does not hold."""
    from storage.audit import verify_chain

    services = _services(settings)
    with services.sessions() as session:
        report = verify_chain(session)
    if report.is_intact:
        print(f"audit chain intact: {report.checked} entries")
        return 0
    print(
        f"audit chain broken at entry {report.broken_at}: {report.problem} "
        f"({report.checked} entries before it hold)"
    )
    return 1


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Run worker processes under a supervisor, in the foreground, until SIGTERM or Ctrl-C."""
    if args.check:
        return _check_workers(settings)
    processes = args.processes or settings.worker_processes
    workers = _worker_supervisor(settings, processes)
    with _stopped_by_sigterm():
        try:
            workers.start()
            log.info("started %d worker process(es); each is restarted if it dies", processes)
            while True:
                time.sleep(3600)
        except (KeyboardInterrupt, _StopRequested):
            log.info("stopping the workers")
            return 0
        finally:
            _ignore_stop_signals()
            workers.stop()


def _check_workers(settings: Settings) -> int:
    """Exit 0 when a worker process on this host has beaten within the heartbeat timeout."""
    import redis

    from bukti.operations import live_workers

    host = socket.gethostname()
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        beats = live_workers(client, host)
    except redis.RedisError as exc:
        raise CommandError(f"Redis at {settings.redis_url} does not answer: {exc}") from None
    finally:
        client.close()
    if not beats:
        timeout_s = settings.heartbeat_timeout_ms / 1000
        print(f"no live worker on {host}: none has beaten in the last {timeout_s:g} s")
        return 1
    print(f"{len(beats)} live worker process(es) on {host}")
    return 0


def _worker_supervisor(settings: Settings, processes: int) -> Supervisor:
    """One `dramatiq --processes 1` per worker, so that one dying is restarted alone."""
    from bukti.metrics import EXPOSITION_ENV, prometheus_environment

    command = [
        sys.executable,
        "-m",
        "dramatiq",
        "workers.actors",
        "--processes",
        "1",
        "--threads",
        str(settings.worker_threads),
        "--worker-shutdown-timeout",
        str(settings.worker_shutdown_timeout_ms),
    ]
    names = [f"worker {n}" for n in range(1, processes + 1)]
    env = {name: prometheus_environment(settings) for name in names}
    for name in names[1:]:  # every worker records its metrics; the first serves them all
        env[name][EXPOSITION_ENV] = "0"
    return Supervisor(
        dict.fromkeys(names, command),
        env=env,
        # a stopping worker finishes its message first; a few seconds more to close down
        stop_timeout_s=settings.worker_shutdown_timeout_ms / 1000 + 5,
    )


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run everything the embedded set-up needs, in the foreground, until interrupted.

    SIGTERM and Ctrl-C stop the API first (no new uploads), then the workers (each finishes
    its message, within the shutdown timeout), then the private Redis (which writes out its
    append-only file).
    """
    import uvicorn

    from api.app import create_app
    from storage.db import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    redis_server: subprocess.Popen[bytes] | None = None
    workers: Supervisor | None = None
    stop = threading.Event()
    with _stopped_by_sigterm():
        try:
            redis_server = _ensure_redis(settings)
            upgrade(settings.resolved_database_url)
            token = create_first_admin(settings)
            if token is not None:
                print(
                    "bukti: no admin yet, so one was created; its token, shown only this once:\n"
                    f"{token}",
                    flush=True,
                )
            if not args.no_workers:
                processes = args.workers or settings.worker_processes
                workers = _worker_supervisor(settings, processes)
                workers.start()
                log.info("started %d worker process(es); each is restarted if it dies", processes)
            threading.Thread(target=_sweep_forever, args=(settings, stop), daemon=True).start()
            log.info("API on http://%s:%d (docs at /docs)", settings.host, settings.port)
            uvicorn.run(
                create_app(settings),
                host=settings.host,
                port=settings.port,
                # its loggers (access lines included) at the level asked of every other
                log_level=settings.log_level.lower(),
                # uvicorn's own dictConfig would give its access lines a second format
                log_config=None,
                timeout_graceful_shutdown=_API_SHUTDOWN_TIMEOUT_S,
            )
            return 0
        except (KeyboardInterrupt, _StopRequested):
            return 0
        finally:
            _ignore_stop_signals()
            log.info("stopping")
            stop.set()
            if workers is not None:
                workers.stop()
            if redis_server is not None:
                stop_process_group(redis_server, timeout_s=10)
            log.info("stopped")


#: open requests (a slow upload) get this long before the API closes them; tus resumes them
_API_SHUTDOWN_TIMEOUT_S = 5


def _ensure_redis(settings: Settings) -> subprocess.Popen[bytes] | None:
    """The private Redis started for the embedded set-up, or None when one answers already."""
    from bukti.embedded_redis import RedisUnavailableError, is_reachable, start_redis

    if is_reachable(settings.redis_url):
        return None
    if not settings.embedded_redis:
        raise CommandError(f"Redis at {settings.redis_url} does not answer")
    workdir = settings.data_dir / "redis"
    log.info(
        "no Redis at %s: starting a private one (its queue kept in %s)", settings.redis_url, workdir
    )
    try:
        return start_redis(settings.redis_url, workdir)
    except RedisUnavailableError as exc:
        raise CommandError(str(exc)) from None


def create_first_admin(settings: Settings) -> str | None:
    """With no admin and no BUKTI_ADMIN_TOKEN, create an admin; its token (else None)."""
    if settings.admin_token is not None:
        return None
    from api.routes.directory import add_user
    from api.schemas import UserIn
    from storage.audit import Actor, append
    from storage.db import transaction
    from storage.models import User

    services = _services(settings)
    try:
        with transaction(services.sessions) as session:
            if session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None:
                return None
            user, token = add_user(session, UserIn(name="admin", role="admin"))
            append(
                session,
                Actor.system("bukti serve"),
                "user.created",
                f"user {user.id}",
                data={"new": {"name": user.name, "role": user.role}},
            )
    finally:
        services.close()
    return token


class _StopRequested(Exception):
    """Raised in the main thread by SIGTERM, so that the command stops its children in order."""


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """SIGTERM raises :class:`_StopRequested` (Ctrl-C raises KeyboardInterrupt) meanwhile.

    Python's default for SIGTERM ends the process at once, leaving its children running; and
    uvicorn raises again, after its own graceful stop, the signal that stopped it.
    """

    def request_stop(signum: int, frame: FrameType | None) -> None:
        raise _StopRequested(signal.Signals(signum).name)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, request_stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _ignore_stop_signals() -> None:
    """While stopping, a second SIGTERM or Ctrl-C must not cut the stop short."""

    def already_stopping(signum: int, frame: FrameType | None) -> None:
        log.warning("already stopping (%s ignored)", signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, already_stopping)
    signal.signal(signal.SIGINT, already_stopping)


def _sweep_forever(settings: Settings, stop: threading.Event) -> None:
    from datetime import date

    from evidence.months import previous_month
    from workers.broker import Enqueuer, build_broker
    from workers.months import close_month

    # stranded items are swept by the API and the workers themselves (workers.sweeper)
    services = Services(settings)
    enqueue = Enqueuer(build_broker(settings))
    while not stop.wait(30):
        try:
            # the reporting month that ended last is closed once; reruns raise nothing new
            close_month(services, previous_month(date.today()))
            _daily_storage_jobs(settings, services, enqueue, date.today())
        except Exception:
            log.exception("closing the month failed; trying again in 30 s")


def _daily_storage_jobs(
    settings: Settings, services: Services, enqueue: Enqueuer, today: date
) -> None:
    """The storage admin's daily jobs: a dry run to review, and a scrub of a sample."""
    from storage.db import transaction
    from storage.retention import plan_scheduled_run
    from workers.broker import SCRUB

    if settings.retention_daily_dry_run:
        with transaction(services.sessions) as session:
            plan_scheduled_run(session, today)
    if not settings.scrub_daily_sample:
        return
    import redis

    # once a day across every `bukti serve` sharing this Redis
    with redis.Redis.from_url(settings.redis_url) as client:
        first = client.set(f"bukti:scrub:{today}", 1, nx=True, ex=2 * 86400)
    if first:
        enqueue.job(SCRUB, settings.scrub_daily_sample)


if __name__ == "__main__":
    sys.exit(main())
