"""ASR benchmark: CPU-seconds per audio-second and real-time factor, base vs tiny.en, and speaker turns.

Run: .venv/bin/python bench/asr.py [--audio FILE] [--repeat N]
If openai-whisper is installed beside newsroom and you pass --openai-checkpoint PATH (a local
`base.pt`; nothing is downloaded), the same audio is transcribed with it and the CPU ratio printed.
Machines here are noisy: read the ratios, not the absolute seconds.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import tempfile
import time
from pathlib import Path

from report import Table, add_json_option, write_tables

from newsroom.asr import Diarizer, Transcriber, read_wav
from newsroom.config import Settings
from newsroom.media import extract_audio

DEFAULT_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "en_espeak.wav"


def measure(fn, repeat: int) -> tuple[float, float]:
    """Best-of-`repeat` (CPU seconds, wall seconds) of fn()."""
    best_cpu, best_wall = float("inf"), float("inf")
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        fn()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_cpu, best_wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path, default=DEFAULT_AUDIO)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--openai-checkpoint", type=Path, default=None)
    add_json_option(parser)
    args = parser.parse_args()
    rows: list[list] = []
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        wav = extract_audio(args.audio, Path(tmp) / "a.wav")
        audio = read_wav(wav)
        audio_s = len(audio) / 16000
        print(f"audio: {args.audio.name}, {audio_s:.1f} s; threads={settings.threads}, cores={os.cpu_count()}")
        print(f"{'engine':34s} {'CPU-s/audio-s':>14s} {'RTF (wall)':>11s} {'load s':>7s}")
        results, engines = {}, {}
        for name in ("base", "tiny.en"):
            started = time.perf_counter()
            engine = engines[name] = Transcriber.load(name, settings, diarize=False)
            load_s = time.perf_counter() - started
            engine.transcribe(audio[:16000 * 5], "en")  # warm-up
            cpu, wall = measure(lambda engine=engine: engine.transcribe(audio, "en"), args.repeat)
            results[name] = cpu
            print(f"{'faster-whisper ' + name + ' int8 beam5':34s} {cpu / audio_s:14.3f} {wall / audio_s:11.3f} {load_s:7.1f}")
            rows.append([f"faster-whisper {name} int8 beam 5", round(cpu / audio_s, 3), round(wall / audio_s, 3),
                         round(load_s, 1), "-"])
        print(f"tiny.en uses {results['base'] / results['tiny.en']:.1f}x less CPU than base")
        rows[1][4] = f"{results['base'] / results['tiny.en']:.1f}x less CPU than base"
        notes = [f"audio: {args.audio.name}, {audio_s:.1f} s; threads={settings.threads}, cores={os.cpu_count()}"]
        # Speaker turns (on by default, NEWSROOM_DIARIZE): the cost on top of base's transcription.
        transcript = engines["base"].transcribe(audio, "en")
        started = time.perf_counter()
        diarizer = Diarizer.load(settings)
        load_s = time.perf_counter() - started
        cpu, wall = measure(lambda: diarizer.label(transcript, audio), args.repeat)
        speakers = diarizer.label(transcript, audio).speakers
        print(f"{'speaker turns (numpy resemblyzer)':34s} {cpu / audio_s:14.3f} {wall / audio_s:11.3f} {load_s:7.1f}")
        print(f"speaker turns add {cpu / results['base']:.0%} to base's CPU time; speakers found: {len(speakers)}")
        rows.append(["speaker turns (numpy resemblyzer)", round(cpu / audio_s, 3), round(wall / audio_s, 3),
                     round(load_s, 1), f"+{cpu / results['base']:.0%} of base's CPU; {len(speakers)} speaker(s)"])
        if importlib.util.find_spec("whisper") and args.openai_checkpoint:
            import whisper  # openai-whisper, PyTorch

            model = whisper.load_model(str(args.openai_checkpoint), device="cpu")
            cpu, wall = measure(lambda: model.transcribe(str(wav), language="en", fp16=False), 1)
            print(f"{'openai-whisper base (PyTorch)':34s} {cpu / audio_s:14.3f} {wall / audio_s:11.3f}")
            print(f"CPU ratio openai-whisper / newsroom base: {cpu / results['base']:.1f}x")
            rows.append(["openai-whisper base (PyTorch)", round(cpu / audio_s, 3), round(wall / audio_s, 3), "-",
                         f"reference: {cpu / results['base']:.1f}x the CPU of newsroom base"])
        else:
            print("openai-whisper reference: not run (install openai-whisper and pass --openai-checkpoint base.pt)")
            notes.append("reference openai-whisper not run (needs openai-whisper and a local base.pt; no downloads)")
        write_tables(args.json_path, [Table("asr", "Speech recognition: CPU per audio second",
                                            ["engine", "CPU-s / audio-s", "real-time factor", "load s", "ratio"],
                                            rows, notes)])


if __name__ == "__main__":
    main()
