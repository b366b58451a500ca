"""`POST /v1/articles` and `POST /v1/bulletins`: start the article and bulletin flows from a CMS.

Signed, replay-guarded and idempotent exactly like `POST /v1/stories`: module-level handlers on the same
dependencies (`state.py`) and checks (`checks.start_once`, `check_object`); `create_app` includes `router`
after the story routes. An article is an object in the bucket (Markdown with
front matter, or JSON); its pictures are the keys it names, or `image_keys` (put there by the signed
`POST /v1/uploads`). A bulletin is its items' text in the body. The answer is the run, to follow with
`GET /v1/stories/{id}` like a story's.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from newsroom.bulletin.items import MAX_ITEM_CHARS, MAX_ITEMS
from newsroom.params import MAX_TARGET_S, AnchorParts, IngestLanguage, LoudnessProfile, TranslateLanguage
from newsroom.webhook import docs
from newsroom.webhook.checks import check_object, on_prefect, parse, start_once
from newsroom.webhook.schemas import PORTRAIT_HELP, ObjectKey, StoryAccepted, _safe_key
from newsroom.webhook.state import GuardDep, LauncherDep, LimitsDep, SecretsDep, StoreDep

log = logging.getLogger("newsroom.webhook")
MAX_IMAGE_KEYS = 30
CmsRef = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.:\-/]+$")]


class ArticleRequest(BaseModel):
    """Turn an article and its pictures (objects in the bucket) into a narrated video."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    article_key: ObjectKey = Field(description="Object key of the article (Markdown with front matter, or JSON).",
                                   examples=["inbox/articles/river-path.md"])
    image_keys: list[ObjectKey] = Field([], max_length=MAX_IMAGE_KEYS, description=(
        "Object keys of the pictures, in order (e.g. from POST /v1/uploads); they replace the files the article "
        "names. Empty: the article's own `images` (keys, or files next to the article's key)."))
    language: IngestLanguage = Field("auto", description="The article's language: auto, or a profile's code.")
    target_s: float = Field(60.0, ge=5, le=MAX_TARGET_S, description="About how long the narration runs.")
    anchor: AnchorParts = Field("intro", description="Anchor intro/outro.")
    condense: bool = Field(False, description="Let the draft model shorten paragraphs (numbers and names checked).")
    portrait_key: ObjectKey | None = Field(None, description=PORTRAIT_HELP)
    loudness: LoudnessProfile = Field("broadcast", description="broadcast (-23 LUFS) or web (-16 LUFS).")
    translate_to: TranslateLanguage | None = Field(None, description=(
        "Also subtitle the video in this language (the draft model; subtitles.<language>.srt/.vtt/.ttml). "
        "Off by default: it costs model time."))
    cms_ref: CmsRef | None = Field(None, description="The CMS's own id; added to the run's tags.")

    @field_validator("article_key", "portrait_key")
    @classmethod
    def _check_key(cls, value: str | None) -> str | None:
        return None if value is None else _safe_key(value)

    @field_validator("image_keys")
    @classmethod
    def _check_keys(cls, value: list[str]) -> list[str]:
        return [_safe_key(v) for v in value]

    def flow_parameters(self) -> dict[str, Any]:
        return {"article": self.article_key, "images": list(self.image_keys), "language": self.language,
                "target_s": self.target_s, "anchor": self.anchor, "condense": self.condense, "portrait_key": self.portrait_key or "",
                "loudness": self.loudness, "translate_to": self.translate_to}


class BulletinRequest(BaseModel):
    """Present text items as one bulletin read by the digital anchor."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    items: list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_ITEM_CHARS + 300)]] = Field(
        min_length=1, max_length=MAX_ITEMS, description=(
            "The items, in order. An item whose first line is short and ends without a full stop shows that "
            "line as its headline."), examples=[["Council approves budget\nThe council approved the budget."]])
    language: IngestLanguage = Field("auto", description="The items' language: auto, or a profile's code.")
    portrait_key: ObjectKey | None = Field(None, description=PORTRAIT_HELP)
    loudness: LoudnessProfile = Field("broadcast", description="broadcast (-23 LUFS) or web (-16 LUFS).")
    translate_to: TranslateLanguage | None = Field(None, description=(
        "Also subtitle the video in this language (the draft model; subtitles.<language>.srt/.vtt/.ttml). "
        "Off by default: it costs model time."))
    cms_ref: CmsRef | None = Field(None, description="The CMS's own id; added to the run's tags.")

    @field_validator("portrait_key")
    @classmethod
    def _check_key(cls, value: str | None) -> str | None:
        return None if value is None else _safe_key(value)

    def flow_parameters(self) -> dict[str, Any]:
        return {"items": list(self.items), "language": self.language, "portrait_key": self.portrait_key or "",
                "loudness": self.loudness, "translate_to": self.translate_to}


router = APIRouter()


@router.post("/v1/articles", status_code=202, response_model=StoryAccepted, responses=docs.ERRORS,
             openapi_extra={"requestBody": docs.json_body(ArticleRequest), "parameters": docs.SIGNED_ONCE})
async def create_article(request: Request, secrets: SecretsDep, launcher: LauncherDep, store: StoreDep,
                         guard: GuardDep, limits: LimitsDep) -> StoryAccepted:
    """Start the article flow: an article and its pictures in the bucket -> a narrated video."""
    async with start_once(request, secrets.signing, guard, limits) as once:
        asked: ArticleRequest = parse(ArticleRequest, once.body)
        await check_object(store, asked.article_key, "article_key", limits.source_prefixes, limits)
        for n, image in enumerate(asked.image_keys):
            await check_object(store, image, f"image_keys[{n}]", limits.source_prefixes, limits)
        if asked.portrait_key:
            await check_object(store, asked.portrait_key, "portrait_key", limits.portrait_prefixes, limits)
        parameters = asked.flow_parameters()
        run = once.started(await on_prefect(
            launcher.start_article(parameters, idempotency_key=f"cms-article:{once.idempotency_key}",
                                   tags=_tags("article", asked.cms_ref)),
            "starting the article run", limits.prefect_timeout_s), parameters)
    return _accepted(request, "article", run)


@router.post("/v1/bulletins", status_code=202, response_model=StoryAccepted, responses=docs.ERRORS,
             openapi_extra={"requestBody": docs.json_body(BulletinRequest), "parameters": docs.SIGNED_ONCE})
async def create_bulletin(request: Request, secrets: SecretsDep, launcher: LauncherDep, store: StoreDep,
                          guard: GuardDep, limits: LimitsDep) -> StoryAccepted:
    """Start the bulletin flow: text items -> a bulletin presented by the digital anchor."""
    async with start_once(request, secrets.signing, guard, limits) as once:
        asked: BulletinRequest = parse(BulletinRequest, once.body)
        if asked.portrait_key:
            await check_object(store, asked.portrait_key, "portrait_key", limits.portrait_prefixes, limits)
        parameters = asked.flow_parameters()
        run = once.started(await on_prefect(
            launcher.start_bulletin(parameters, idempotency_key=f"cms-bulletin:{once.idempotency_key}",
                                    tags=_tags("bulletin", asked.cms_ref)),
            "starting the bulletin run", limits.prefect_timeout_s), parameters)
    return _accepted(request, "bulletin", run)


def _tags(kind: str, cms_ref: str | None) -> list[str]:
    return ["cms", kind] + ([f"cms-ref:{cms_ref}"] if cms_ref else [])


def _accepted(request: Request, kind: str, run: Any) -> StoryAccepted:
    log.info("%s run %s (%s)", kind, run.id, "duplicate" if run.duplicate else "new")
    return StoryAccepted(id=run.id, status_url=str(request.url_for("story_status", run_id=run.id)),
                         ui_url=run.ui_url, duplicate=run.duplicate)
