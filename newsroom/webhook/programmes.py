"""`POST /v1/articles` and `POST /v1/bulletins`: start the article and bulletin flows from a CMS.

Signed, replay-guarded and idempotent exactly like `POST /v1/stories` (the app's own checks are passed in:
`add_programme_routes` is called once by `create_app`). An article is an object in the bucket (Markdown with
front matter, or JSON); its pictures are the keys it names, or `image_keys` (put there by the signed
`POST /v1/uploads`). A bulletin is its items' text in the body. The answer is the run, to follow with
`GET /v1/stories/{id}` like a story's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from newsroom.bulletin.items import MAX_ITEM_CHARS, MAX_ITEMS
from newsroom.params import MAX_TARGET_S, IngestLanguage, LoudnessProfile
from newsroom.webhook.schemas import ObjectKey, StoryAccepted, _safe_key

log = logging.getLogger("newsroom.webhook")
MAX_IMAGE_KEYS = 30
MODELS = ("ArticleRequest", "BulletinRequest")  # request bodies the app's OpenAPI schema must list
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
    anchor: Literal["none", "intro", "outro", "both"] = Field("intro", description="Anchor intro/outro.")
    condense: bool = Field(False, description="Let the draft model shorten paragraphs (numbers and names checked).")
    portrait_key: ObjectKey | None = Field(None, description="Object key of the anchor's portrait image.")
    loudness: LoudnessProfile = Field("broadcast", description="broadcast (-23 LUFS) or web (-16 LUFS).")
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
                "loudness": self.loudness}


class BulletinRequest(BaseModel):
    """Present text items as one bulletin read by the digital anchor."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    items: list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_ITEM_CHARS + 300)]] = Field(
        min_length=1, max_length=MAX_ITEMS, description=(
            "The items, in order. An item whose first line is short and ends without a full stop shows that "
            "line as its headline."), examples=[["Council approves budget\nThe council approved the budget."]])
    language: IngestLanguage = Field("auto", description="The items' language: auto, or a profile's code.")
    portrait_key: ObjectKey | None = Field(None, description="Object key of the anchor's portrait image.")
    loudness: LoudnessProfile = Field("broadcast", description="broadcast (-23 LUFS) or web (-16 LUFS).")
    cms_ref: CmsRef | None = Field(None, description="The CMS's own id; added to the run's tags.")

    @field_validator("portrait_key")
    @classmethod
    def _check_key(cls, value: str | None) -> str | None:
        return None if value is None else _safe_key(value)

    def flow_parameters(self) -> dict[str, Any]:
        return {"items": list(self.items), "language": self.language, "portrait_key": self.portrait_key or "",
                "loudness": self.loudness}


def add_programme_routes(
    app: FastAPI, *, launcher: Any, authenticate: Callable[[Request], Any],
    read_body: Callable[..., Awaitable[bytes]], parse: Callable[[type, bytes], Any],
    check_object: Callable[[str, str, tuple[str, ...]], Awaitable[None]], on_prefect: Callable[..., Awaitable[Any]],
    guard: Any, source_prefixes: tuple[str, ...], portrait_prefixes: tuple[str, ...], api_error: type,
    responses: dict, openapi_parameters: list, json_body: Callable[[type], dict], idempotency_re: Any,
) -> None:
    """Add the two endpoints to the webhook `app`, with the app's own signature, body and object checks."""

    async def start(request: Request, model: type, kind: str) -> StoryAccepted:
        signed = authenticate(request)
        signature = signed.signature
        seen = await guard.aclaim(signature)
        if seen is not None:
            raise api_error(409, "replayed request: this exact signed request was already received; sign each "
                                 "retry with a fresh timestamp (the Idempotency-Key keeps it one run)",
                            flow_run_id=seen.flow_run_id)
        try:
            body = await read_body(request, signed)
            key = request.headers.get("Idempotency-Key")
            if not key or not idempotency_re.match(key):
                raise api_error(400, "Idempotency-Key header is required: 8-128 characters of letters, digits and "
                                     ". _ : -")
            asked = parse(model, body)
            if isinstance(asked, ArticleRequest):
                await check_object(asked.article_key, "article_key", source_prefixes)
                for n, image in enumerate(asked.image_keys):
                    await check_object(image, f"image_keys[{n}]", source_prefixes)
            if asked.portrait_key:
                await check_object(asked.portrait_key, "portrait_key", portrait_prefixes)
            parameters = asked.flow_parameters()
            tags = ["cms", kind] + ([f"cms-ref:{asked.cms_ref}"] if asked.cms_ref else [])
            run = await on_prefect(getattr(launcher, f"start_{kind}")(parameters, idempotency_key=f"cms-{kind}:{key}",
                                                                       tags=tags), f"starting the {kind} run")
            if run.duplicate and any(run.parameters.get(k) != v for k, v in parameters.items()):
                raise api_error(409, f"Idempotency-Key {key!r} was already used for a different request",
                                flow_run_id=run.id)
        except BaseException:
            guard.release(signature)
            raise
        guard.settle(signature, run.id)
        log.info("%s run %s (%s)", kind, run.id, "duplicate" if run.duplicate else "new")
        return StoryAccepted(id=run.id, status_url=str(request.url_for("story_status", run_id=run.id)),
                             ui_url=run.ui_url, duplicate=run.duplicate)

    @app.post("/v1/articles", status_code=202, response_model=StoryAccepted, responses=responses,
              openapi_extra={"requestBody": json_body(ArticleRequest), "parameters": openapi_parameters})
    async def create_article(request: Request) -> StoryAccepted:
        """Start the article flow: an article and its pictures in the bucket -> a narrated video."""
        return await start(request, ArticleRequest, "article")

    @app.post("/v1/bulletins", status_code=202, response_model=StoryAccepted, responses=responses,
              openapi_extra={"requestBody": json_body(BulletinRequest), "parameters": openapi_parameters})
    async def create_bulletin(request: Request) -> StoryAccepted:
        """Start the bulletin flow: text items -> a bulletin presented by the digital anchor."""
        return await start(request, BulletinRequest, "bulletin")
