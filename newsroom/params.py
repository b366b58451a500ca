"""The choices a story's flows accept, shared by the flows (Prefect's run forms) and the CMS webhook."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from newsroom.errors import ConfigError
from newsroom.lang import CODES

IngestLanguage = Literal[("auto", *CODES)]  # type: ignore[valid-type]  # the language profiles' codes
AsrModel = Literal["base", "tiny.en"]
RestorePreset = Literal["auto", "none", "deinterlace", "light", "denoise", "denoise-hq", "deband", "archive", "stabilize"]
UpscaleMethod = Literal["none", "lanczos", "esrgan"]
LoudnessProfile = Literal["broadcast", "web"]
MAX_TARGET_S = 600.0
MAX_HEADLINE_CHARS = 200  # a headline longer than this is refused; what fits the graphics is cut with "..."
Headline = Annotated[str, Field(max_length=MAX_HEADLINE_CHARS)]
MAX_GLOSSARY_TERM_CHARS = 100  # a longer line is no name (a glossary file's lines are held to it too)
MAX_RUN_GLOSSARY_TERMS = 500
# A run's own glossary: names, places, organisations heard in this story, one an item; "heard -> written"
# corrects a known mis-hearing. Added before the newsroom's glossary (NEWSROOM_GLOSSARY); see newsroom.asr.glossary.
GlossaryTerm = Annotated[str, Field(min_length=1, max_length=MAX_GLOSSARY_TERM_CHARS)]
GlossaryTerms = Annotated[tuple[GlossaryTerm, ...], Field(max_length=MAX_RUN_GLOSSARY_TERMS)]


def check_headline(headline: str | None) -> str | None:
    """`headline` as given, or ConfigError when it is longer than MAX_HEADLINE_CHARS (as the flows refuse it)."""
    if headline is not None and len(headline) > MAX_HEADLINE_CHARS:
        raise ConfigError(f"the headline has {len(headline)} characters; at most {MAX_HEADLINE_CHARS} are accepted "
                          "(MAX_HEADLINE_CHARS): shorten it")
    return headline
