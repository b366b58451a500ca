"""The choices a story's flows accept, shared by the flows (Prefect's run forms) and the CMS webhook."""

from __future__ import annotations

from typing import Literal

from newsroom.lang import CODES

IngestLanguage = Literal[("auto", *CODES)]  # type: ignore[valid-type]  # the language profiles' codes
AsrModel = Literal["base", "tiny.en"]
RestorePreset = Literal["auto", "none", "deinterlace", "light", "denoise", "denoise-hq", "deband", "archive"]
UpscaleMethod = Literal["none", "lanczos", "esrgan"]
LoudnessProfile = Literal["broadcast", "web"]
MAX_TARGET_S = 600.0
MAX_HEADLINE_CHARS = 200
