"""The one place that picks concrete backends: engine, sessions, object store, broker."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bukti.settings import Settings
from evidence.calendar import MonthRule, national_overrides
from evidence.records import HoursOverride
from evidence.timeresolve import ZoneLookup
from evidence.verification import Rules
from storage.backend import ObjectStore
from storage.db import build_engine, build_sessions


def build_rules(settings: Settings) -> Rules:
    """Verification thresholds as the domain takes them: plain values, not settings."""
    names = {f.name for f in fields(Rules)}
    return Rules(**{name: getattr(settings, name) for name in names})


def build_store(settings: Settings) -> ObjectStore:
    """The object store the settings ask for."""
    if settings.storage_backend == "s3":
        from storage.backends.s3 import S3Store

        secret = settings.s3_secret_access_key
        return S3Store(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            create_bucket=settings.s3_create_bucket,
            object_lock=settings.s3_object_lock,
            cold_storage_class=settings.s3_cold_storage_class,
            cold_after_days=settings.s3_cold_after_days,
        )
    from storage.backends.local import LocalStore

    return LocalStore(settings.resolved_storage_dir)


@dataclass
class Services:
    """What the API and the workers share: settings, database and object store."""

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        """The database engine."""
        return build_engine(self.settings.resolved_database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Session factory bound to :attr:`engine`."""
        return build_sessions(self.engine)

    @cached_property
    def rules(self) -> Rules:
        """Verification thresholds from the settings."""
        return build_rules(self.settings)

    @cached_property
    def zone_at(self) -> ZoneLookup | None:
        """The IANA zone at a point (offline, timezonefinder), or None when it is off."""
        if not self.settings.zone_from_gps:
            return None
        from workers.zones import zone_at

        return zone_at

    @cached_property
    def national_calendar(self) -> tuple[HoursOverride, ...]:
        """The national holidays and collective leave days, as calendar entries."""
        from storage.national_calendar import YEARS_AHEAD, national_days

        last_year = date.today().year + YEARS_AHEAD
        return national_overrides(national_days(self.settings.national_calendar, last_year))

    @property
    def month_rule(self) -> MonthRule:
        """How a month's target is set."""
        return MonthRule(self.settings.month_target_rule)

    @cached_property
    def store(self) -> ObjectStore:
        """The archive's object store."""
        return build_store(self.settings)

    def prepare_dirs(self) -> None:
        """Create the data directories the API and workers write to."""
        for path in (self.settings.data_dir, self.settings.incoming_dir, self.settings.work_dir):
            path.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        """Release pooled connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()
