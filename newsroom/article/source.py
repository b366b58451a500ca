"""A CMS article as newsroom reads it: Markdown with YAML front matter, or the same fields as JSON.

    ---
    title: Bikes return to the river path
    standfirst: The city reopens the path after a winter of repairs.
    language: en                       # or zh, ja, auto (from the text's script)
    images:
      - file: images/path.jpg          # relative to the article; or `key: inbox/path.jpg` in the store
        caption: The reopened river path
        credit: City press office
    ---
    First paragraph of the body...

    Second paragraph...

Paragraphs are the body's blocks separated by blank lines (Markdown headings, rules and image lines are
left out; emphasis and link markup is reduced to its text). The JSON form has the same fields with
`paragraphs` as a list of strings. Everything here is untrusted: sizes and counts are bounded before any
work (`ArticleRefusedError` names the limit), text is taken literally.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from newsroom import lang
from newsroom.errors import MediaRefusedError, NewsroomError
from newsroom.storage.keys import story_id_from_sha256

MAX_ARTICLE_BYTES = 512 * 1024  # a long feature is ~50 KB of Markdown
MAX_PARAGRAPHS = 200
MAX_PARAGRAPH_CHARS = 5_000
MAX_TITLE_CHARS = 300
MAX_STANDFIRST_CHARS = 1_000
MAX_CAPTION_CHARS = 300
MAX_IMAGES = 30
FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_IMAGE_LINE_RE = re.compile(r"^\s*!\[[^\]]*\]\([^)]*\)\s*$")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s")
_RULE_RE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")


class ArticleError(NewsroomError):
    """The article cannot be read (its format or a missing field); the message says what to fix."""


class ArticleRefusedError(MediaRefusedError):
    """The article asks for more work than the limits allow (size, paragraphs, images)."""


@dataclass(frozen=True, slots=True)
class ArticleImage:
    """One picture of the article: a file relative to the article, or an object key; caption and credit."""

    file: str | None = None
    key: str | None = None
    caption: str = ""
    credit: str = ""

    @property
    def where(self) -> str:
        return self.key or self.file or ""

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "key": self.key, "caption": self.caption, "credit": self.credit}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArticleImage:
        return cls(data.get("file"), data.get("key"), data.get("caption") or "", data.get("credit") or "")


@dataclass(frozen=True, slots=True)
class Article:
    """The article's text and pictures; `language` is a profile's code (resolved from "auto")."""

    title: str
    standfirst: str
    language: str
    paragraphs: tuple[str, ...]
    images: tuple[ArticleImage, ...]
    outro: str = ""  # what the anchor says after the story (optional; the article's own words)

    @property
    def text(self) -> str:
        """Everything the article says (what narration is held to)."""
        return "\n".join([self.title, self.standfirst, *self.paragraphs, self.outro,
                          *(f"{i.caption} {i.credit}" for i in self.images)])

    def image_for(self, paragraph: int) -> int:
        """Which image a paragraph shows: one each in order while they last; with fewer images than
        paragraphs, consecutive paragraphs share one (spread evenly)."""
        n, k = len(self.paragraphs), len(self.images)
        if k == 0:
            raise ArticleError("the article has no images: give at least one (front matter `images`, or --image)")
        return paragraph if k >= n else paragraph * k // n

    def with_images(self, images: tuple[ArticleImage, ...]) -> Article:
        return replace(self, images=images)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "standfirst": self.standfirst, "language": self.language,
                "paragraphs": list(self.paragraphs), "images": [i.to_dict() for i in self.images], "outro": self.outro}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        return cls(data["title"], data.get("standfirst", ""), data["language"], tuple(data["paragraphs"]),
                   tuple(ArticleImage.from_dict(i) for i in data.get("images", ())), data.get("outro", ""))


def _text(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ArticleError(f"the article's {field} must be text, not {type(value).__name__}")
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    if required and not text:
        raise ArticleError(f"the article has no {field}: add `{field}:` to its front matter")
    if len(text) > limit:
        raise ArticleRefusedError(f"the article's {field} has {len(text):,} characters, over the limit of {limit:,}: "
                                  "shorten it")
    return text


def _plain(block: str) -> str:
    """A Markdown paragraph as plain text: links and images by their text, emphasis markers dropped."""
    text = _LINK_RE.sub(r"\1", block)
    for _ in range(3):
        text = _EMPHASIS_RE.sub(r"\2", text)
    return " ".join(text.split())


def markdown_paragraphs(body: str) -> list[str]:
    """The body's paragraphs: blocks between blank lines, headings, rules and image-only lines left out."""
    blocks: list[str] = []
    current: list[str] = []
    for line in body.splitlines():
        if not line.strip() or _HEADING_RE.match(line) or _RULE_RE.match(line) or _IMAGE_LINE_RE.match(line):
            if current:
                blocks.append(" ".join(current))
                current = []
            if len(blocks) > MAX_PARAGRAPHS:
                break
            continue
        current.append(line.strip().lstrip(">").strip())
    if current:
        blocks.append(" ".join(current))
    return [p for p in (_plain(b) for b in blocks) if p]


def _images(value: Any) -> tuple[ArticleImage, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ArticleError("the article's `images` must be a list of {file or key, caption, credit}")
    if len(value) > MAX_IMAGES:
        raise ArticleRefusedError(f"the article lists {len(value)} images, over the limit of {MAX_IMAGES}: "
                                  "keep the pictures the story needs")
    images = []
    for n, item in enumerate(value, 1):
        if isinstance(item, str):
            item = {"file": item}
        if not isinstance(item, dict):
            raise ArticleError(f"image {n} of the article must be a mapping with `file` or `key`, not {item!r:.60}")
        file, key = item.get("file"), item.get("key")
        if (file is None) == (key is None) or not isinstance(file or key, str):
            raise ArticleError(f"image {n} of the article needs exactly one of `file` (a path relative to the "
                               "article) or `key` (an object key)")
        images.append(ArticleImage(file, key, _text(item.get("caption"), f"image {n} caption", MAX_CAPTION_CHARS),
                                   _text(item.get("credit"), f"image {n} credit", MAX_CAPTION_CHARS)))
    return tuple(images)


def _resolve_language(value: str, sample: str) -> str:
    if value in ("", "auto"):
        return lang.detect(sample).code
    found = lang.find(value)
    if found is None:
        raise ArticleError(f"the article's language {value!r} has no profile: use auto or one of {', '.join(lang.CODES)}")
    return found.code


def build_article(fields: dict[str, Any], paragraphs: list[Any], language: str = "auto") -> Article:
    """An `Article` from parsed fields (front matter or JSON) and the body's paragraphs, checked."""
    if len(paragraphs) > MAX_PARAGRAPHS:
        raise ArticleRefusedError(f"the article has {len(paragraphs):,} paragraphs or more, over the limit of "
                                  f"{MAX_PARAGRAPHS}: a narrated video reads a few minutes; send the article in parts")
    texts = tuple(t for t in (_text(p, f"paragraph {i + 1}", MAX_PARAGRAPH_CHARS) for i, p in enumerate(paragraphs)) if t)
    if not texts:
        raise ArticleError("the article has no body paragraphs: write the story below the front matter")
    title = _text(fields.get("title"), "title", MAX_TITLE_CHARS, required=True)
    standfirst = _text(fields.get("standfirst"), "standfirst", MAX_STANDFIRST_CHARS)
    outro = _text(fields.get("outro"), "outro", MAX_STANDFIRST_CHARS)
    chosen = language if language != "auto" else str(fields.get("language") or "auto")
    code = _resolve_language(chosen, " ".join([title, *texts[:3]]))
    return Article(title, standfirst, code, texts, _images(fields.get("images")), outro)


def parse_article(data: bytes, *, name: str = "article", language: str = "auto") -> Article:
    """Read an article from its bytes: JSON (`{"title", "paragraphs", ...}`) or Markdown with front matter."""
    if len(data) > MAX_ARTICLE_BYTES:
        raise ArticleRefusedError(f"{name} is {len(data):,} bytes, over the {MAX_ARTICLE_BYTES:,}-byte limit for an "
                                  "article: send the text only (pictures separately) or split it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ArticleError(f"{name} is not UTF-8 text: save the article as UTF-8 Markdown or JSON") from None
    if "\x00" in text:
        raise ArticleError(f"{name} is not text (it contains NUL bytes): send the article as Markdown or JSON")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            fields = json.loads(stripped)
        except ValueError as exc:
            raise ArticleError(f"{name} is not valid JSON ({exc})") from None
        paragraphs = fields.get("paragraphs")
        if not isinstance(paragraphs, list):
            raise ArticleError(f"{name}: a JSON article needs `paragraphs`, a list of strings")
        return build_article(fields, paragraphs, language)
    match = FRONT_MATTER_RE.match(text)
    if not match:
        raise ArticleError(f"{name} has no front matter: start it with a `---` block holding at least `title:`")
    fields = _front_matter(match.group(1), name)
    return build_article(fields, markdown_paragraphs(text[match.end():]), language)


def _front_matter(block: str, name: str) -> dict[str, Any]:
    import yaml

    try:
        fields = yaml.safe_load(block)  # safe_load: plain data only, no tags that build objects
    except yaml.YAMLError as exc:
        raise ArticleError(f"{name}: the front matter is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(fields, dict):
        raise ArticleError(f"{name}: the front matter must be a mapping (title: ..., images: [...])")
    return fields


def article_story_id(article: Article, image_sha256: list[str]) -> str:
    """The article's story id: its content (text fields and each picture's sha256) hashed, so sending the same
    article again is the same story. 20 hex characters, like a footage story's."""
    content = {**article.to_dict(), "images": [{"caption": i.caption, "credit": i.credit, "sha256": h}
                                               for i, h in zip(article.images, image_sha256, strict=True)]}
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return story_id_from_sha256(hashlib.sha256(b"article\n" + canonical.encode("utf-8")).hexdigest())
