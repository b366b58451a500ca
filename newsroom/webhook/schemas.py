"""Request and response bodies of the CMS webhook (pydantic: validated, documented in the OpenAPI schema)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from newsroom.errors import InvalidKeyError
from newsroom.params import (
    MAX_HEADLINE_CHARS,
    MAX_RUN_GLOSSARY_TERMS,
    MAX_TARGET_S,
    AsrModel,
    GlossaryTerm,
    IngestLanguage,
    LoudnessProfile,
    RestorePreset,
    UpscaleMethod,
)
from newsroom.storage.keys import clean_name, validate_key

ObjectKey = Annotated[str, StringConstraints(min_length=1, max_length=512)]
IdempotencyKey = Annotated[str, StringConstraints(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
MAX_FILENAME_BYTES = 255  # an upload's name as sent (UTF-8), like a file system's limit; kept in S3 metadata (2 KB)
_EXTENSION_RE = re.compile(r"^[A-Za-z0-9]{1,8}$")

PORTRAIT_HELP = ("Object key of the anchor's portrait: a still, or a presenter's mouth atlas (.npz, made by "
                 "`newsroom anchor --reference`) for the presenter's own mouth.")


def _safe_key(value: str) -> str:
    try:
        return validate_key(value)
    except InvalidKeyError as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class UploadName:
    """An upload's file name as sent, and the name its object is stored under."""

    original: str  # kept in the object's `filename` metadata (the stores encode it for S3 headers)
    stored: str


def upload_name(filename: str) -> UploadName:
    """The stored name for an uploaded file's name: the same rule as inbox objects (`storage.keys.clean_name`:
    NFC, control characters replaced, spaces made plain), with an extension. Raises InvalidKeyError (with
    what to send instead) for a name that cannot become one: a path, no extension, nothing left."""
    example = "send the file's own name with its extension, e.g. ?filename=council-meeting.mp4"
    name = unicodedata.normalize("NFC", filename).strip()
    if not name:
        raise InvalidKeyError(f"the filename query parameter is required: {example}")
    try:
        encoded = filename.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        raise InvalidKeyError(f"filename is not valid Unicode text: {example}") from None
    if len(encoded) > MAX_FILENAME_BYTES:
        raise InvalidKeyError(f"filename is longer than {MAX_FILENAME_BYTES} bytes (UTF-8): {example}")
    if "/" in name or "\\" in name:
        raise InvalidKeyError(f"filename must be a name, not a path (no '/' or '\\'): {example}")
    stem, dot, extension = name.rpartition(".")
    if not dot or not _EXTENSION_RE.match(extension):
        raise InvalidKeyError(f"filename {filename!r} has no extension (1-8 letters or digits after the last '.'): "
                              f"{example}")
    if not any(ch.isalnum() for ch in stem):
        raise InvalidKeyError(f"filename {filename!r} has no letters or digits before its extension: {example}")
    return UploadName(original=filename, stored=clean_name(name))


class StoryRequest(BaseModel):
    """Ask for a whole story package (ingest, edit, draft, broadcast) from a media object in the bucket."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source_key: ObjectKey = Field(
        description="Object key of the raw media in the newsroom bucket, under an allowed prefix (e.g. inbox/).",
        examples=["inbox/2026-12-01/city-council.mp4"],
    )
    language: IngestLanguage = Field("auto", description="Spoken language: auto, or a language profile's code (the enum).")
    asr_model: AsrModel = Field("base", description="Speech-to-text model.")
    target_s: float = Field(60.0, gt=0, le=MAX_TARGET_S, description="Length of the highlight edit in seconds.")
    upscale: UpscaleMethod = Field("none", description="Super-resolution of the edit.")
    restore: RestorePreset = Field("auto", description="Restoration preset.")
    burn_subtitles: bool = Field(True, description="Also render a copy with burned-in subtitles.")
    vertical: bool = Field(True, description="Also render a 9:16 version.")
    headline: Annotated[str, StringConstraints(min_length=1, max_length=MAX_HEADLINE_CHARS)] | None = Field(
        None, description="Headline for the covers (default: the draft's)."
    )
    portrait_key: ObjectKey | None = Field(None, description=PORTRAIT_HELP)
    loudness: LoudnessProfile = Field("broadcast", description="broadcast (-23 LUFS) or web (-16 LUFS).")
    glossary: Annotated[list[GlossaryTerm], Field(max_length=MAX_RUN_GLOSSARY_TERMS)] | None = Field(
        None, description="Names, places, organisations and jargon heard in this story, one an item (\"heard -> "
        "written\" corrects a known mis-hearing): they steer speech recognition, with the newsroom's glossary.",
        examples=[["Amara Okonkwo", "Kilbarrack", "Shivon -> Siobhan"]],
    )
    cms_ref: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.:\-/]+$")] | None = Field(
        None, description="The CMS's own id for the story; added to the run's tags."
    )

    @field_validator("source_key", "portrait_key")
    @classmethod
    def _check_keys(cls, value: str | None) -> str | None:
        return None if value is None else _safe_key(value)

    def flow_parameters(self) -> dict[str, Any]:
        """Parameters of the package flow (everything but the CMS reference)."""
        params = self.model_dump(exclude={"cms_ref", "source_key"}, exclude_none=True)
        return {"source": self.source_key, **params}


class StoryAccepted(BaseModel):
    id: str = Field(description="Flow-run id of the story's package run; poll GET /v1/stories/{id}.")
    status_url: str
    ui_url: str | None = Field(None, description="The run's page in the Prefect UI.")
    duplicate: bool = Field(False, description="True when this Idempotency-Key had already started the run.")


class Uploaded(BaseModel):
    source_key: str = Field(description="Where the upload is stored: pass it as source_key to POST /v1/stories.")
    bytes: int
    sha256: str
    filename: str = Field(description="The file name as sent (kept, percent-encoded, in the object's metadata).")


class StoryStatus(BaseModel):
    id: str
    state: str = Field(description="Prefect state type: SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, ...")
    state_name: str
    message: str | None = None
    source_key: str | None = None
    story_id: str | None = Field(None, description="Set once ingest has stored the source.")
    ui_url: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict, description="Finished file name -> download link.")
    note: str | None = None


class ErrorBody(BaseModel):
    error: str = Field(description="What is wrong, and what to do about it.")
    detail: Any | None = None
    flow_run_id: str | None = None


class S3Object(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    key: ObjectKey
    size: int | None = Field(None, ge=0)
    etag: str | None = Field(None, alias="eTag", max_length=128)
    sequencer: str | None = Field(None, max_length=64)


class S3Bucket(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: Annotated[str, StringConstraints(min_length=1, max_length=63)]


class S3Entity(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bucket: S3Bucket
    object: S3Object


class EventRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    event_name: Annotated[str, StringConstraints(max_length=128)] = Field(alias="eventName")
    s3: S3Entity

    @property
    def key(self) -> str:
        return unquote_plus(self.s3.object.key)  # S3 event keys arrive URL-encoded


class StorageEvent(BaseModel):
    """A MinIO (S3-style) bucket notification, as the webhook target sends it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    event_name: Annotated[str, StringConstraints(max_length=128)] | None = Field(None, alias="EventName")
    records: Annotated[list[EventRecord], Field(max_length=100)] = Field(default_factory=list, alias="Records")


class EventsAccepted(BaseModel):
    scans: list[str] = Field(description="Flow-run ids of inbox scans started (or already running) for the events.")
    ignored: int = Field(description="Records that were not object creations under the inbox prefix.")


class Health(BaseModel):
    ok: bool
    prefect: bool
    storage: bool
