"""What a draft is: the JSON the model must return (pydantic, with the schema handed to the backend) and the
`Draft` the pipeline keeps (a frozen dataclass with its dict, JSON and Markdown forms).

Lengths are counted in the language profile's unit (`text_size`: words, or characters for languages written
without spaces); the limits on lists are in the schema (constrained decoders see them) and enforced after
verification (`newsroom.llm.grounding`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from newsroom import lang
from newsroom.lang import LanguageProfile
from newsroom.llm.quotes import Quote, compact

MAX_QUOTES = 5
MAX_KEYWORDS = 8
MAX_FACTS = 15  # in the notes on one part of a long transcript

# --------------------------------------------------------------------------- what the model must return

_NULL_SPEAKERS = {"", "null", "none", "unknown", "n/a", "na", "unnamed", "无", "未知", "不详"}


class QuoteCandidate(BaseModel):
    """A quote as the model proposes it (unverified)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    text: str = Field(min_length=1, description="copied word for word from the source")
    speaker: str | None = Field(None, description="the name the source gives, or null")

    @model_validator(mode="before")
    @classmethod
    def _bare_string(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @field_validator("speaker", mode="before")
    @classmethod
    def _no_speaker(cls, value: Any) -> Any:
        if value is None:
            return None
        value = str(value).strip()
        return None if value.casefold() in _NULL_SPEAKERS else value


def _as_list(value: Any) -> Any:
    if isinstance(value, str):  # "a, b, c" or "a、b、c"
        value = re.split(r"[,;，、；]", value)
    if isinstance(value, list):
        seen: dict[str, str] = {}
        for item in value:
            item = str(item).strip()
            if item and item.casefold() not in seen:
                seen[item.casefold()] = item
        return list(seen.values())
    return value


class DraftOutput(BaseModel):
    """The JSON object the draft prompt asks for."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    headline: str = Field(min_length=3)
    lede: str = Field(min_length=8)
    body: str = Field(min_length=40)
    summary: str = Field(min_length=8)
    # More than MAX_KEYWORDS keywords or MAX_QUOTES quotes is not worth a new answer: the extra ones are cut
    # (with a warning) after verification; the schema still tells constrained decoders the limits.
    keywords: list[str] = Field(min_length=3, json_schema_extra={"maxItems": MAX_KEYWORDS})
    anchor_script: str = Field(min_length=20)
    quotes: list[QuoteCandidate] = Field(json_schema_extra={"maxItems": MAX_QUOTES})

    @field_validator("keywords", mode="before")
    @classmethod
    def _keyword_list(cls, value: Any) -> Any:
        return _as_list(value)


class NotesOutput(BaseModel):
    """The JSON object the summarise prompt asks for."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    facts: list[str] = Field(min_length=1, json_schema_extra={"maxItems": MAX_FACTS})
    quotes: list[QuoteCandidate] = Field(json_schema_extra={"maxItems": MAX_QUOTES})

    @field_validator("facts", mode="before")
    @classmethod
    def _fact_list(cls, value: Any) -> Any:
        return _as_list(value)


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, inlined (no $ref), every property required, no titles and no string
    length bounds (a `maxLength` crashed llama.cpp's server; lengths are checked after parsing)."""
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})

    def clean(node: Any) -> Any:
        if isinstance(node, list):
            return [clean(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return clean(defs[node["$ref"].rsplit("/", 1)[-1]])
        out = {k: clean(v) for k, v in node.items() if k not in ("title", "default", "minLength", "maxLength")}
        if out.get("type") == "object" and "properties" in out:
            out["required"] = list(out["properties"])
        return out

    return clean(raw)


def text_size(text: str, profile: LanguageProfile) -> int:
    """Length in the profile's unit: words, or characters (punctuation and spaces left out)."""
    return len(text.split()) if profile.spaced else len(compact(text))


# --------------------------------------------------------------------------- the draft


@dataclass(frozen=True, slots=True)
class Draft:
    language: str
    headline: str
    lede: str
    body: str
    summary: str
    keywords: tuple[str, ...]
    anchor_script: str
    quotes: tuple[Quote, ...]
    dropped_quotes: tuple[str, ...]
    model: str  # backend + model + prompt template versions, e.g. "...@gguf-q4_k_m-1+draft.v1.en"
    warnings: tuple[str, ...] = field(default=())  # grounding checks for the editor (not in to_dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "headline": self.headline,
            "lede": self.lede,
            "body": self.body,
            "summary": self.summary,
            "keywords": list(self.keywords),
            "anchor_script": self.anchor_script,
            "quotes": [q.to_dict() for q in self.quotes],
            "dropped_quotes": list(self.dropped_quotes),
            "model": self.model,
            "language": self.language,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any], warnings: Sequence[str] = ()) -> Draft:
        return cls(
            language=data["language"],
            headline=data["headline"],
            lede=data["lede"],
            body=data["body"],
            summary=data["summary"],
            keywords=tuple(data["keywords"]),
            anchor_script=data["anchor_script"],
            quotes=tuple(Quote(q["text"], q.get("speaker"), float(q["start_s"]), float(q["end_s"]))
                         for q in data["quotes"]),
            dropped_quotes=tuple(data.get("dropped_quotes", ())),
            model=data["model"],
            warnings=tuple(warnings),
        )

    @property
    def anchor_seconds(self) -> float:
        """Estimated reading time of the anchor script."""
        profile = lang.profile(self.language)
        return text_size(self.anchor_script, profile) / profile.draft.units_per_s

    def to_markdown(self) -> str:
        lines = [f"# {self.headline}", "", f"**{self.lede}**", "", self.body, "", "## Summary", "", self.summary,
                 "", f"**Keywords:** {', '.join(self.keywords)}", "",
                 f"## Anchor script (about {self.anchor_seconds:.0f} s)", "", self.anchor_script, "",
                 "## Quotes (verified verbatim against the transcript)", ""]
        if self.quotes:
            for q in self.quotes:
                who = f" - {q.speaker}" if q.speaker else " - (speaker not named)"
                lines.append(f"- \"{q.text}\"{who} [verified, {_clock(q.start_s)}-{_clock(q.end_s)}]")
        else:
            lines.append("- none")
        if self.dropped_quotes:
            lines += ["", "## Dropped quotes - NOT published (not found verbatim in the transcript)", ""]
            lines += [f"- ~~\"{text}\"~~ NOT PUBLISHED" for text in self.dropped_quotes]
        if self.warnings:
            lines += ["", "## Checks for the editor", ""]
            lines += [f"- {w}" for w in self.warnings]
        lines += ["", "---", f"Written by {self.model}; language {self.language}.", ""]
        return "\n".join(lines)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes):02d}:{secs:04.1f}"

