"""A bulletin's items from text: what the anchor reads and the headline shown while it is read.

Text form: items separated by lines of `---`; without such lines, by blank lines. An item of several lines
whose first line is short and has no sentence end is a headline and its text; otherwise the headline shown
is the item's first sentence (cut to fit the lower third).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from newsroom import lang
from newsroom.errors import ConfigError, MediaRefusedError
from newsroom.storage.keys import story_id_from_sha256

MAX_ITEMS = 20
MAX_ITEM_CHARS = 2_000  # about two minutes read; the voice's own limit is higher
MAX_HEADLINE_CHARS = 200
MAX_TEXT_BYTES = 256 * 1024
_SEPARATOR_RE = re.compile(r"^\s*(?:-{3,}|\*{3,}|={3,})\s*$", re.MULTILINE)


class BulletinError(ConfigError):
    """The bulletin's text cannot be used (empty, too long, too many items); the message says what to do."""


@dataclass(frozen=True, slots=True)
class BulletinItem:
    headline: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"headline": self.headline, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BulletinItem:
        return cls(data.get("headline", ""), data["text"])


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _first_sentence(text: str, profile: lang.LanguageProfile) -> str:
    from newsroom.article.narration import sentences

    found = sentences(text, profile)
    return (found[0] if found else text).rstrip(profile.sentence_marks)


def item_from_text(block: str, language: str) -> BulletinItem:
    """One item from its text: a short first line without a sentence end is its headline."""
    profile = lang.profile(language)
    lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
    if not lines:
        raise BulletinError("a bulletin item is empty: write what the anchor reads")
    headline = ""
    first = lines[0].lstrip("#").strip()
    if len(lines) > 1 and len(first) <= MAX_HEADLINE_CHARS and not first.endswith(tuple(profile.sentence_marks)):
        headline, lines = first, lines[1:]
    text = _clean(" ".join(lines) if profile.spaced else "".join(lines))
    if len(text) > MAX_ITEM_CHARS:
        raise MediaRefusedError(f"a bulletin item has {len(text):,} characters, over the limit of {MAX_ITEM_CHARS:,}: "
                                "a bulletin item is read in a minute or two; split it")
    return BulletinItem(_clean(headline) or _first_sentence(text, profile), text)


def split_items(text: str) -> list[str]:
    """One text's items: separated by `---` lines, else by blank lines."""
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise MediaRefusedError(f"the bulletin text is over {MAX_TEXT_BYTES // 1024} KiB: send fewer items")
    blocks = _SEPARATOR_RE.split(text) if _SEPARATOR_RE.search(text) else re.split(r"\n\s*\n", text)
    return [b.strip() for b in blocks if b.strip()]


def parse_items(text: str | list[str], language: str) -> list[BulletinItem]:
    """The bulletin's items, from one text (`split_items`) or a list of item texts."""
    blocks = split_items(text) if isinstance(text, str) else [b for b in text if isinstance(b, str) and b.strip()]
    if sum(len(b.encode("utf-8")) for b in blocks) > MAX_TEXT_BYTES:
        raise MediaRefusedError(f"the bulletin text is over {MAX_TEXT_BYTES // 1024} KiB: send fewer items")
    if not blocks:
        raise BulletinError("the bulletin has no items: give the text the anchor reads")
    if len(blocks) > MAX_ITEMS:
        raise MediaRefusedError(f"the bulletin has {len(blocks)} items, over the limit of {MAX_ITEMS}: split it")
    return [item_from_text(b, language) for b in blocks]


def bulletin_story_id(items: list[BulletinItem], language: str) -> str:
    """The bulletin's story id from its content: the same items in the same language are the same story."""
    canonical = json.dumps({"language": language, "items": [i.to_dict() for i in items]}, ensure_ascii=False,
                           sort_keys=True, separators=(",", ":"))
    return story_id_from_sha256(hashlib.sha256(b"bulletin\n" + canonical.encode("utf-8")).hexdigest())
