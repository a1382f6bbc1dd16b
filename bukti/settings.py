"""Every setting of Bukti, read from the environment with the prefix ``BUKTI_``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


class Settings(BaseSettings):
    """One place for the service's configuration; the domain gets plain values from it."""

    model_config = SettingsConfigDict(env_prefix="BUKTI_", env_file=".env", extra="ignore")

    # where things live
    data_dir: Path = Field(
        Path("data"), description="Root of the embedded database, uploads and objects."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; SQLite under data_dir when unset."
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Broker and lock server.")
    embedded_redis: bool = Field(
        True,
        description="Start a private Redis when redis_url is not reachable (run command only).",
    )

    # HTTP
    host: str = Field("127.0.0.1", description="Address the API binds to.")
    port: int = Field(8000, description="Port the API binds to.")
    admin_token: SecretStr | None = Field(
        None, description="An admin with this token exists from start-up."
    )
    public_docs: bool = Field(True, description="Serve OpenAPI at /docs.")

    # operations
    log_level: str = Field("INFO", description="Lowest level of log lines written.")
    log_format: Literal["json", "text"] = Field(
        "json", description="One JSON object per log line, or plain text for people."
    )
    worker_metrics_port: int = Field(
        0, description="Port of each worker host's Prometheus metrics (e.g. 9191); 0: off."
    )
    worker_metrics_host: str = Field(
        "127.0.0.1", description="Address the workers' metrics listen on."
    )
    # people's sign-in and media delivery
    session_max_age_h: float = Field(
        12, description="Hours a sign-in on the pages lasts (the session cookie's lifetime)."
    )
    login_max_failures: int = Field(
        5, description="Wrong passwords in a row after which an account is slowed down."
    )
    login_lockout_s: float = Field(
        30,
        description="Seconds an account waits after too many wrong passwords; doubles with "
        "each further one, up to login_lockout_max_s.",
    )
    login_lockout_max_s: float = Field(900, description="Longest wait after wrong passwords.")
    media_redirect: bool = Field(
        False,
        description="With S3, answer media requests with a short-lived presigned redirect "
        "instead of streaming the bytes through the API.",
    )
    media_redirect_ttl_s: int = Field(300, description="Lifetime of a presigned media link.")

    # object storage
    storage_backend: Literal["local", "s3"] = Field(
        "local", description="Where archived objects go."
    )
    storage_dir: Path | None = Field(
        None, description="Local backend root; data_dir/objects when unset."
    )
    s3_bucket: str = Field("bukti", description="S3 bucket for archived objects.")
    s3_prefix: str = Field("", description="Key prefix inside the bucket.")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint; AWS when unset.")
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_access_key_id: str | None = Field(
        None, description="S3 access key; boto3's chain when unset."
    )
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret key.")
    s3_create_bucket: bool = Field(False, description="Create the bucket at start-up if missing.")
    s3_object_lock: Literal["off", "GOVERNANCE", "COMPLIANCE"] = Field(
        "off",
        description="S3 Object Lock on archived originals for their retention window, and "
        "legal holds mirrored onto them; the bucket must have been created with object lock.",
    )
    s3_cold_storage_class: str | None = Field(
        None,
        description="A colder S3 storage class (STANDARD_IA, GLACIER_IR, ...) that renditions, "
        "previews and posters move to after s3_cold_after_days, by a bucket lifecycle rule.",
    )
    s3_cold_after_days: int = Field(
        90, description="Days after which renditions move to s3_cold_storage_class."
    )

    # retention (the storage admin's)
    trash_days: int = Field(
        30, description="Days a copy removed by retention can still be restored from the trash."
    )
    retention_daily_dry_run: bool = Field(
        False,
        description="`bukti serve` plans a retention dry run each day for an admin to review "
        "and confirm; it is never applied by itself.",
    )
    scrub_daily_sample: int = Field(
        0,
        description="Archived objects `bukti serve` has the workers verify each day, least "
        "recently verified first; 0 turns the daily scrub off.",
    )

    # uploads
    max_photo_bytes: int = Field(50 * MB, description="Largest photo accepted.")
    max_video_bytes: int = Field(2 * 1024 * MB, description="Largest video accepted.")
    max_document_bytes: int = Field(50 * MB, description="Largest document accepted.")
    max_image_pixels: int = Field(
        120_000_000, description="Largest photo in pixels; beyond it the file counts as a bomb."
    )
    upload_chunk_bytes: int = Field(
        1 * MB, description="Chunk size when streaming an upload to disk."
    )

    # photo processing
    rendition_max_side_px: int = Field(2048, description="Long side of a photo's web rendition.")
    rendition_jpeg_quality: int = Field(80, description="JPEG quality of the rendition.")
    near_duplicate_phash_distance: int = Field(
        18, description="pHash Hamming distance (of 64) within which a stored photo is compared."
    )
    near_duplicate_max_distance: int = Field(
        40, description="Summed pHash + dHash distances (of 192) that make a near duplicate."
    )

    # video
    ffmpeg_timeout_s: float = Field(60, description="Wall-clock limit of one ffprobe run.")
    video_preset: str = Field("superfast", description="x264 preset of video renditions.")
    video_crf: int = Field(30, description="x264 CRF of video renditions.")
    min_video_duration_s: float = Field(60, description="Shortest monthly teaching video.")
    youtube_source: str = Field(
        "yt-dlp",
        description="Where link metadata comes from: yt-dlp, recorded:<dir>, or "
        "generic:<url template with {video_id}> (yt-dlp's generic extractor, for tests).",
    )
    youtube_archive: bool = Field(
        False, description="Also download linked videos into the archive (video pipeline)."
    )
    youtube_socket_timeout_s: float = Field(15, description="yt-dlp's network timeout.")

    # verification thresholds (SPEC.md's defaults)
    activity_tolerance_min: float = Field(
        30, description="Minutes a photo may precede an activity's start or follow its end."
    )
    future_tolerance_min: float = Field(
        5, description="Minutes a capture time may be ahead of the server's receipt."
    )
    gps_time_tolerance_min: float = Field(
        60, description="Largest gap between GPS fix time and capture time."
    )
    accuracy_allowance_cap_m: float = Field(
        100, description="Most the geofence grows by the reported GPS error."
    )
    low_accuracy_m: float = Field(
        100, description="GPS error above which low_gps_accuracy is raised."
    )
    modified_after_capture_s: float = Field(
        60, description="Seconds between capture and last save that count as an edit."
    )
    thumbnail_max_distance: int = Field(
        20, description="pHash distance between image and EXIF thumbnail that counts as an edit."
    )
    repeated_location_days: int = Field(
        3, description="Days with identical coordinates that raise repeated_location."
    )
    max_speed_kmh: float = Field(
        150, description="Travel speed between two items that is impossible."
    )
    travel_ignore_m: float = Field(
        1000, description="Distance under which two items are never impossible travel."
    )
    trk_target_min: int = Field(
        450, description="TRK minutes a full working day must log (a shortened day, its share)."
    )
    month_target_rule: Literal["trk", "working_days"] = Field(
        "trk",
        description="A month's target: trk (trk_month_target_min, or the working days' sum "
        "when less) or working_days (the sum of its working days' targets).",
    )
    trk_month_target_min: int = Field(9000, description="TRK's month: 20 days x 450 min.")
    check_time_tolerance_min: float = Field(
        10, description="Typed check time vs its selfie's capture time (check_time_mismatch)."
    )
    national_calendar: str = Field(
        "ID",
        description="Country whose national holidays and collective leave are days off "
        "(the holidays package); empty for none.",
    )
    zone_from_gps: bool = Field(
        True, description="Derive a missing UTC offset from the time zone at the GPS point."
    )

    # workers
    worker_processes: int = Field(
        2, description="Dramatiq worker processes started by `bukti serve`."
    )
    worker_threads: int = Field(1, description="Threads per worker process.")
    worker_poll_ms: int = Field(
        100,
        gt=0,
        description="Longest pause of an idle worker between looks at its queues (Dramatiq's "
        "worker timeout, 1000 by default there): the most an upload waits for an idle worker.",
    )
    max_retries: int = Field(
        5, description="Retries of a transient fault before an item is failed."
    )
    retry_min_backoff_ms: int = Field(1_000, description="First retry delay.")
    retry_max_backoff_ms: int = Field(60_000, description="Longest retry delay.")
    step_time_limit_ms: int = Field(
        120_000, description="Dramatiq time limit of one pipeline step."
    )
    video_time_limit_ms: int = Field(
        4 * 3600 * 1000, description="Dramatiq time limit of one video's transcode job."
    )
    lease_s: float = Field(
        20,
        description="How long a job holds an item before another worker may take it over; "
        "renewed every third of it while the job works.",
    )
    sweep_interval_s: float = Field(
        10,
        description="How often workers and the API look for stranded items (0: never, nor does "
        "the API clean up abandoned uploads).",
    )
    pickup_grace_s: float = Field(
        60, description="An item due this long ago and held by no job is queued again."
    )
    auto_retry_min_s: float = Field(
        30, description="First automatic retry of an item failed because a dependency was down."
    )
    auto_retry_max_s: float = Field(
        300, description="Longest wait between automatic retries of a failed item."
    )
    heartbeat_timeout_ms: int = Field(
        15_000, description="A worker silent this long is dead; its messages are redelivered."
    )
    worker_shutdown_timeout_ms: int = Field(
        10_000,
        description="How long a stopping worker may finish the message in hand; after it the "
        "message is left to be redelivered.",
    )
    maintenance_chance: int = Field(
        200_000,
        description="Chance per million broker commands of requeueing dead workers' messages.",
    )

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bukti.db').resolve()}"

    @property
    def resolved_storage_dir(self) -> Path:
        """Root of the local object store."""
        return self.storage_dir or self.data_dir / "objects"

    @property
    def incoming_dir(self) -> Path:
        """Uploads waiting for the workers; shared by the API and the workers."""
        return self.data_dir / "incoming"

    @property
    def work_dir(self) -> Path:
        """Scratch space of the workers (renditions before they are archived)."""
        return self.data_dir / "work"


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
