"""One settings object for the whole library.

Values come from (highest first) constructor arguments, `NEWSROOM_*` environment variables, a `.env`
file in the working directory, then the defaults below, which run everything on one machine with a
local storage folder. Nested values use `__`, e.g. `NEWSROOM_MODEL_PATHS__WHISPER_BASE=/opt/whisper`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsroom.lang import CODES, DEFAULT_LANGUAGES

# Derived from the language profiles (newsroom/lang): one table of languages.
Language = Literal[CODES]  # type: ignore[valid-type]
LanguageChoice = Literal[("auto", *CODES)]  # type: ignore[valid-type]


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "newsroom" / "models"


class Settings(BaseSettings):
    """All of newsroom's configuration. Pass values to the constructor to override in tests."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSROOM_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    # Storage
    storage_backend: Literal["local", "minio"] = Field(
        "local", description="Where assets live: a local folder or a MinIO/S3 bucket."
    )
    local_root: Path = Field(Path("newsroom-data"), description="Folder used by the local backend.")
    minio_endpoint: str = Field("localhost:9000", description="host:port of the MinIO/S3 service.")
    minio_access_key: str = "minioadmin"
    minio_secret_key: SecretStr = SecretStr("minioadmin")
    minio_bucket: str = "newsroom"
    minio_secure: bool = Field(False, description="Use HTTPS to reach MinIO.")
    minio_region: str | None = None
    minio_public_url: str | None = Field(
        None, description="Address people and the CMS reach MinIO at (e.g. https://media.example.org), for the "
        "links in artifacts and webhook answers; default: the endpoint above.",
    )
    presign_expiry_s: int = Field(7 * 24 * 3600, ge=60, le=7 * 24 * 3600)
    storage_connect_timeout_s: float = Field(
        3.0, gt=0, le=60, description="Longest wait to open a connection to the S3 service; past it the call is retried.")
    storage_read_timeout_s: float = Field(
        20.0, gt=0, le=600, description="Longest wait for the S3 service to answer (per read on the socket, not the whole "
        "transfer); past it the call is retried.")
    storage_retries: int = Field(
        2, ge=0, le=10, description="Retries of one S3 call after a connection error, a timeout or a 5xx; then it "
        "fails with a TransientError (which the task retries later). Worst case per call: (retries + 1) x "
        "(connect + read timeouts) plus a few seconds of back-off.")
    storage_retry_backoff_s: float = Field(0.5, ge=0, le=30, description="First back-off between S3 retries (doubles).")

    # Tasks and stories
    task_retry_delays_s: list[float] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0], min_length=1, max_length=10,
        description="Waits before each retry of a task that failed for a transient reason (storage unreachable, "
        "disk full, a deadline); three retries, the last wait repeated. Read when the tasks are imported.")
    story_lease_s: float = Field(
        60.0, ge=60, le=3600, description="A run holds its story's lease (one run per story at a time) for this "
        "long and renews it at three quarters of it; a run that died frees its story this long after it stopped "
        "(plus up to 15 s, the Prefect server's sweep). 60 s is the least the Prefect server accepts.")
    story_wait_s: float = Field(
        3 * 3600.0, gt=0, description="Longest a run waits for another run of the same story to finish before it "
        "fails (transiently) and can be run again.")

    # Models
    model_cache: Path = Field(default_factory=_default_cache, description="Assembled, verified weights.")
    model_paths: dict[str, Path] = Field(
        default_factory=dict,
        description="Model id -> local folder/file with your own weights (skips packaged weights).",
    )
    asr_model: Literal["base", "tiny.en"] = "base"
    asr_beam_size: int = Field(5, ge=1, le=10)
    glossary: Path | None = Field(
        None, description="The newsroom glossary: names, places, organisations and jargon, one a line (UTF-8, # "
        "comments, 'heard -> written' corrections), in one file or a folder of <language>.txt files. Steers speech "
        "recognition towards them and rewrites near-misses (newsroom.asr.glossary).")
    diarize: bool = Field(
        True, description="Speaker turns in transcripts: a speaker (S1, S2, ...) on every segment and word, from "
        "resemblyzer's voice encoder (~0.02 CPU-s per audio second). false: transcripts carry no speaker.")
    diarize_distance: float = Field(
        0.30, gt=0.0, lt=1.0, description="Cosine distance between two voices' windows above which they are "
        "different speakers: raise it (0.34) if one person comes out as two, lower it (0.28) if two similar voices "
        "come out as one.")
    upscale_gpu: int = Field(-1, ge=-1, description="Vulkan GPU index for Real-ESRGAN; -1 runs on the CPU.")
    cover_superres: Literal["auto", "always", "never"] = Field(
        "auto", description="Real-ESRGAN x4plus for cover frames: auto = only for small sources (<= 240 px)."
    )

    # News-draft LLM
    llm_backend: Literal["llama-cpp", "transformers", "openai"] = Field(
        "llama-cpp", description="llama-cpp: the packaged GGUF on this machine's CPU; transformers: the same GGUF "
        "in torch (a GPU, or the CPU; the 'transformers' extra); openai: an OpenAI-compatible endpoint."
    )
    llm_device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where the transformers LLM backend runs: auto = a CUDA GPU when torch sees one, "
        "else the CPU. llama-cpp always runs on the CPU."
    )
    llm_model: str = Field("qwen2.5-1.5b-instruct", description="Registry id of the packaged GGUF model.")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://llm:8080/v1.")
    llm_endpoint_model: str = Field("default", description="Model name sent to the OpenAI-compatible endpoint.")
    llm_api_key: SecretStr = SecretStr("")
    llm_response_format: Literal["json_schema", "json_object", "none"] = Field(
        "json_schema", description="How the OpenAI-compatible endpoint is held to the answer's JSON schema: "
        "json_schema (OpenAI structured outputs: OpenAI, vLLM, recent llama.cpp servers), json_object (older "
        "llama.cpp servers), none (no constraint; answers are validated and retried).")
    llm_context_tokens: int = Field(8192, ge=1024)
    llm_seed: int = 42
    llm_prefix_cache: bool = Field(
        True, description="Keep llama.cpp's state after a prompt's fixed instructions on disk (under model_cache), "
        "so each draft reads only its transcript.")
    llm_timeout_s: float = Field(600.0, gt=0)

    # Speech synthesis
    tts_sample_rate_hz: int = Field(24_000, description="Every voice is delivered at this rate.")
    tts_voices: dict[str, str] = Field(
        default_factory=dict, description="Language -> voice id over the language profile's default, e.g. "
        "NEWSROOM_TTS_VOICES__ZH=kokoro:jm_kumo (engine:voice, or a bare voice of the profile's engine). The "
        "Mandarin default ttskit:Aiyue: see the licence note in newsroom/lang/zh.py.")

    # Languages and compute
    languages: list[Language] = Field(
        default_factory=lambda: list(DEFAULT_LANGUAGES),
        description="Languages auto-detection may choose (from the language profiles).")
    threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1)
    anchor_workers: int = Field(
        default_factory=lambda: max(1, min(4, (os.cpu_count() or 1) // 2)), ge=1,
        description="Processes that render parts of the anchor video at once. One render keeps about 1.5 cores "
        "busy (warp + encoder), so the default is one per 2 cores, at most 4.")

    # Limits
    max_source_bytes: int = Field(50 * 1024**3, ge=1, description="Largest source file ingest accepts.")
    max_duration_s: float = Field(6 * 3600.0, gt=0, description="Longest source (declared duration) ingest accepts.")
    max_video_pixels: int = Field(7680 * 4320, ge=1, description="Largest video frame (width x height): 8K UHD.")
    max_video_side_px: int = Field(8192, ge=16, description="Longest side of a video frame.")
    max_fps: float = Field(120.0, gt=0, description="Highest video frame rate ingest accepts.")
    max_streams: int = Field(16, ge=1, description="Most streams (video, audio, subtitles, data) in one source.")
    max_image_pixels: int = Field(50_000_000, ge=1, description="Largest still (portraits, article images).")
    probe_memory_limit_bytes: int = Field(
        2 * 1024**3, ge=256 * 1024**2, description="Address space ffprobe may use to read one file (a giant frame "
        "fails to allocate instead of exhausting the worker).")
    max_damaged_s: float = Field(
        2.0, ge=0, description="Damaged or missing media a source may have and still be ingested (with a warning); "
        "at most a tenth of a short clip.")
    max_damaged_fraction: float = Field(
        0.01, ge=0, le=1, description="...or this share of a long recording, whichever is more.")
    subprocess_deadline_floor_s: float = Field(
        120.0, gt=0, description="Every ffmpeg/ffprobe run may take this long plus the factor below x the media's "
        "duration before it is killed (and retried as a transient failure).")
    subprocess_deadline_factor: float = Field(30.0, gt=0, description="Seconds of run time allowed per media second.")

    # Operations: deployments, inbox, CMS webhook
    dispatch: Literal["inline", "deployments"] = Field(
        "inline",
        description="How the package flow runs its edit and broadcast stages: inline (one process) or as runs of "
        "their deployments, so the heavy stages go to the heavy work pool (set by infra/prefect.yaml).",
    )
    inbox_prefix: str = Field("inbox/", description="Bucket prefix the scheduled inbox scan watches.")
    inbox_settle_s: float = Field(
        30.0, ge=0, description="Objects modified more recently than this are left for the next scan (still uploading)."
    )
    webhook_secret: SecretStr | None = Field(
        None, description="Shared secret the CMS signs webhook requests with (HMAC-SHA256). Required by `newsroom webhook`."
    )
    storage_events_token: SecretStr | None = Field(
        None, description="Bearer token MinIO sends with bucket notifications (MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_<ID>)."
    )
    webhook_max_body_bytes: int = Field(64 * 1024, ge=1024, description="Largest JSON body the webhook accepts.")
    webhook_max_upload_bytes: int = Field(
        2 * 1024**3, ge=1,
        description="Largest upload POST /v1/uploads accepts (its Content-Length; 413 over it). Never more than "
        "max_source_bytes: the smaller of the two applies.",
    )
    webhook_uploads_per_client: int = Field(
        2, ge=1, le=1000,
        description="Uploads one client (remote address) may stream at once; one more is a 429 with Retry-After.",
    )
    webhook_prefect_timeout_s: float = Field(
        20.0, gt=0, le=600,
        description="Longest the webhook waits on the Prefect API for one request; past it the answer is 503 with "
        "Retry-After (a retry with the same Idempotency-Key never starts a second run).",
    )
    webhook_storage_timeout_s: float = Field(
        10.0, gt=0, le=600,
        description="Longest the webhook waits on the object store for one request (a stat, a status read); past it "
        "the answer is 503 with Retry-After.",
    )
    webhook_source_prefixes: list[str] = Field(
        default_factory=lambda: ["inbox/", "uploads/", "archive/"],
        description="Bucket prefixes a CMS may name as a story's source.",
    )
    concurrency_limits: dict[str, int] = Field(
        default_factory=dict,
        description="Task tag -> cluster-wide slots for `newsroom ops bootstrap`, over its defaults "
        "(e.g. NEWSROOM_CONCURRENCY_LIMITS='{\"newsroom-llm\": 2}').",
    )
    task_runner: Literal["process", "dask"] = Field(
        "process", description="Where chunked work (Real-ESRGAN chunks) runs: process = a pool of processes on the "
        "worker's machine; dask = a Dask cluster at dask_address (prefect-dask), so chunks cross machines.")
    dask_address: str | None = Field(
        None, description="Scheduler of the Dask cluster for task_runner=dask, e.g. tcp://10.0.0.5:8786.")

    # The local stack (`newsroom stack up`): every service as a supervised process on this machine, loopback only
    stack_dir: Path = Field(Path("stack"), description="Where the stack keeps its configuration, data and logs.")
    stack_s3_port: int = Field(9000, ge=1, le=65535, description="S3 (JuiceFS gateway) port on 127.0.0.1.")
    stack_prefect_port: int = Field(4200, ge=1, le=65535, description="Prefect server (API + UI) port on 127.0.0.1.")
    stack_webhook_port: int = Field(8000, ge=1, le=65535, description="Webhook port on 127.0.0.1.")
    stack_cpu_workers: int = Field(1, ge=1, le=16, description="`prefect worker` processes for the cpu pool.")
    stack_heavy_workers: int = Field(1, ge=1, le=16, description="`prefect worker` processes for the heavy pool.")
    stack_stories_at_once: int = Field(
        2, ge=1, le=64, description="Package runs at once on the stack (the package deployment's concurrency limit); "
        "more wait for a slot. Each worker takes enough runs at once that waiting stages always find a slot.")
    stack_worker_poll_s: float = Field(5.0, gt=0, le=60, description="How often a stack worker asks for new runs.")
    stack_up_timeout_s: float = Field(
        300.0, gt=0, description="Longest `stack up` waits for one service to become healthy.")

    prefect_ui_url: str | None = Field(
        None, description="Base URL of the Prefect UI for links in webhook answers (default: derived from PREFECT_API_URL)."
    )

    @field_validator("local_root", "model_cache", "stack_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("model_paths")
    @classmethod
    def _normalise_model_ids(cls, value: dict[str, Path]) -> dict[str, Path]:
        # Environment variables arrive upper-cased with underscores: WHISPER_BASE -> whisper-base.
        return {k.lower().replace("_", "-"): Path(v).expanduser() for k, v in value.items()}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings read from the environment (cached; tests construct their own)."""
    return Settings()
