"""Glossary benchmark: are uncommon names written right, with and without the newsroom glossary?

Reads twelve English sentences (piper joe) and twelve Mandarin ones (Kokoro jm_kumo, as newsroom.tts does)
that hold uncommon names, places and organisations (synthesised once into --cache; ~1 minute English,
~5 minutes Mandarin the first time), transcribes each with Whisper base in these ways, and prints the share
of names written exactly right, the word (en) / character (zh) error rate of the whole text and CPU cost:

    none            no glossary (the language's own prompt only)
    fix only        no steering; near-misses rewritten afterwards (`Glossary.fix`)
    prompt          the terms appended to Whisper's initial prompt
    hotwords        the terms as faster-whisper `hotwords`
    hotwords + fix  what `Transcriber.transcribe(..., glossary=...)` does

The glossary of each language lists every name of its sentences (22-23 terms; each sentence holds 1-3).
The plain and steered transcripts are saved beside the audio; `--reuse` reads them back, to try other
fixing rules without transcribing again.
Then, for the hotwords + fix transcripts, how well Whisper's word probability finds the words it got wrong
(words aligned to the reference): flagged share of wrong words (recall) and wrong share of flagged words
(precision) per threshold, to choose `AsrRules.min_word_probability`.

Run: .venv/bin/python bench/glossary.py [--cache DIR] [--languages en zh]
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import re
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from newsroom.asr import Transcriber, read_wav
from newsroom.asr.glossary import Glossary
from newsroom.config import Settings
from newsroom.types import Transcript

RATE_HZ = 16_000
SETS: dict[str, list[tuple[str, list[str]]]] = {
    "en": [
        ("Councillor Amara Okonkwo opened the new library in Kilbarrack on Monday.", ["Amara Okonkwo", "Kilbarrack"]),
        ("The Haverbrook Housing Trust says rents will rise by four percent.", ["Haverbrook Housing Trust"]),
        ("Inspector Tomasz Przybylski led the investigation in Wexcombe.", ["Tomasz Przybylski", "Wexcombe"]),
        ("Nomvula Tshabalala will chair the Ravensmere Water Board from June.",
         ["Nomvula Tshabalala", "Ravensmere Water Board"]),
        ("The ferry from Glenarrow to Inishcarra was cancelled because of high winds.", ["Glenarrow", "Inishcarra"]),
        ("Doctor Ingrid Vasquez-Holloway presented the findings at Stellmark University.",
         ["Ingrid Vasquez-Holloway", "Stellmark University"]),
        ("Farmers in Ottersby met the Caldwater Grain Cooperative last night.",
         ["Ottersby", "Caldwater Grain Cooperative"]),
        ("Mayor Ruaridh Fennimore promised a decision on the Brantwick bypass.", ["Ruaridh Fennimore", "Brantwick"]),
        ("Kwabena Asante-Mensah scored twice for Dunmoor Rovers on Saturday.",
         ["Kwabena Asante-Mensah", "Dunmoor Rovers"]),
        ("The Aldebrook Institute warned that Lake Vessimer is drying out.", ["Aldebrook Institute", "Lake Vessimer"]),
        ("Professor Yusuf Demirtas spoke for the Marlowe Coastal Alliance.",
         ["Yusuf Demirtas", "Marlowe Coastal Alliance"]),
        ("Residents of Pennick Cross wrote to Senator Ilse Vanderhoek.", ["Pennick Cross", "Ilse Vanderhoek"]),
    ],
    "zh": [
        ("婺源县副县长詹晓彤今天视察了篁岭景区。", ["婺源县", "詹晓彤", "篁岭"]),
        ("瓯江水务集团宣布，明年将在温州新建两座水厂。", ["瓯江水务集团"]),
        ("儋州市民政局局长符永翀出席了发布会。", ["儋州", "符永翀"]),
        ("涠洲岛的渔民代表与北海市海洋局进行了座谈。", ["涠洲岛"]),
        ("鸿澜生物科技公司的首席科学家邝婉琪介绍了新药的研发进展。", ["鸿澜生物", "邝婉琪"]),
        ("霞浦县的滩涂摄影节吸引了上万名游客。", ["霞浦县"]),
        ("黟县宏村的古民居修缮工程已经完成。", ["黟县", "宏村"]),
        ("澄江化石地保护协会会长禤国栋呼吁加强保护。", ["澄江化石地保护协会", "禤国栋"]),
        ("鄱阳湖水位持续下降，都昌县启动了抗旱应急响应。", ["鄱阳湖", "都昌县"]),
        ("闽清县人民医院院长訾梦涵表示，新院区将于九月启用。", ["闽清县人民医院", "訾梦涵"]),
        ("崇左市的甘蔗种植户与桂糖集团签订了收购协议。", ["崇左市", "桂糖集团"]),
        ("岢岚县的沙棘产业带动了三千多户农民增收。", ["岢岚县", "沙棘"]),
    ],
}
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
VARIANTS = ("none", "fix only", "prompt", "hotwords", "hotwords + fix")


def synthesise(language: str, cache: Path) -> list[Path]:
    """The set's sentences read by the language's packaged voice, as 16 kHz WAVs (made once)."""
    from newsroom.tts import load_voice

    cache.mkdir(parents=True, exist_ok=True)
    settings = Settings(tts_sample_rate_hz=RATE_HZ)
    voice = None
    paths = []
    for i, (text, _) in enumerate(SETS[language]):
        path = cache / f"{language}_{i:02d}.wav"
        if not path.exists():
            voice = voice or load_voice(language, settings)
            voice.synthesize(text, path)
        paths.append(path)
    return paths


def glossary_for(language: str) -> Glossary:
    return Glossary.parse([name for _, names in SETS[language] for name in names])


def normalise(text: str, language: str) -> str:
    """What "written right" compares: case, hyphens and punctuation aside (en); characters only (zh)."""
    if language == "zh":
        return re.sub(r"[^\w]", "", text)
    return " " + " ".join(re.sub(r"[^\w']+", " ", text.casefold()).split()) + " "


def names_right(text: str, names: list[str], language: str) -> int:
    heard = normalise(text, language)
    return sum(normalise(name, language) in heard for name in names)


def error_rate(reference: str, hypothesis: str, language: str) -> tuple[int, int]:
    """(edits, reference length) in words (en) or characters (zh)."""
    ref = normalise(reference, language)
    hyp = normalise(hypothesis, language)
    a, b = (list(ref), list(hyp)) if language == "zh" else (ref.split(), hyp.split())
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    edits = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")
    return edits, len(a)


def word_truth(transcript: Transcript, reference: str, language: str, glossary: Glossary
               ) -> list[tuple[float, bool, bool]]:
    """(probability, heard right, part of a glossary term written right) for every word of the transcript,
    aligned to the reference."""
    words = [w for s in transcript.segments for w in s.words if normalise(w.word, language).strip()]
    units = [normalise(w.word, language).strip() for w in words]
    ref = normalise(reference, language).strip()
    if language == "zh":
        owner = [i for i, u in enumerate(units) for _ in u]
        matcher = difflib.SequenceMatcher(None, list(ref), "".join(units), autojunk=False)
        right = [True] * len(words)
        for op, _, _, j1, j2 in matcher.get_opcodes():
            if op != "equal":
                for j in range(j1, j2):
                    right[owner[j]] = False
    else:
        matcher = difflib.SequenceMatcher(None, ref.split(), units, autojunk=False)
        right = [False] * len(words)
        for op, _, _, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                for j in range(j1, j2):
                    right[j] = True
    known = {n for term in glossary.terms for n in (normalise(term, language).split() if language != "zh"
                                                    else [normalise(term, language)])}

    def in_term(unit: str) -> bool:
        return unit in known if language != "zh" else any(unit in term for term in known)

    return [(w.probability, ok, ok and in_term(u)) for w, u, ok in zip(words, units, right, strict=True)]


def transcribe_all(language: str, paths: list[Path], glossary: Glossary, saved: Path, reuse: bool
                   ) -> tuple[list[dict[str, Transcript]], dict[str, float], float]:
    """Per sentence, the transcript of each variant; CPU seconds per variant; audio seconds. The steered and
    plain transcripts are saved to `saved` (and read back with `reuse`); the fixes are computed from them, as
    `Transcriber.transcribe(..., glossary=...)` computes them."""
    cpu = dict.fromkeys(VARIANTS, 0.0)
    if reuse:
        data = json.loads(saved.read_text("utf-8"))
        runs = [{k: Transcript.from_dict(v) for k, v in run.items()} for run in data["runs"]]
        cpu.update(data["cpu"])
        audio_s = data["audio_s"]
    else:
        engine = Transcriber.load("base", Settings(), diarize=False)
        steer = {"none": engine,
                 "prompt": Transcriber(engine._model, engine.model_id,
                                       replace(engine.options, glossary_steering="prompt", glossary_fix=False)),
                 "hotwords": Transcriber(engine._model, engine.model_id, replace(engine.options, glossary_fix=False))}
        runs, audio_s = [], 0.0
        for path in paths:
            audio = read_wav(path)
            audio_s += len(audio) / RATE_HZ
            run = {}
            for variant, transcriber in steer.items():
                started = time.process_time()
                run[variant] = transcriber.transcribe(audio, language, glossary=None if variant == "none" else glossary)
                cpu[variant] += time.process_time() - started
            runs.append(run)
        saved.write_text(json.dumps({"runs": [{k: t.to_dict() for k, t in run.items()} for run in runs],
                                     "cpu": cpu, "audio_s": audio_s}, ensure_ascii=False), "utf-8")
    fixed_from = {"fix only": "none", "hotwords + fix": "hotwords"}
    for variant, source in fixed_from.items():
        started = time.process_time()
        for run in runs:
            run[variant] = glossary.fix(run[source])[0]
        cpu[variant] = cpu[source] + time.process_time() - started
    return runs, cpu, audio_s


def flag_table(truth: list[tuple[float, bool, bool]], title: str) -> None:
    """Recall and precision of word probability as a flag for wrong words; truth: (probability, right, known)."""
    wrong = sum(not ok for _, ok, _ in truth)
    print(f"\n{title} ({len(truth)} words, {wrong} wrong)")
    print(f"{'threshold':>9s} {'flagged':>8s} {'recall':>7s} {'precision':>9s}")
    for threshold in THRESHOLDS:
        flagged = [ok for p, ok, _ in truth if p < threshold]
        hits = sum(not ok for ok in flagged)
        print(f"{threshold:9.1f} {len(flagged):8d} {hits / max(1, wrong):7.0%} {hits / max(1, len(flagged)):9.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "newsroom-bench-glossary")
    parser.add_argument("--languages", nargs="+", default=["en", "zh"], choices=sorted(SETS))
    parser.add_argument("--reuse", action="store_true", help="read the saved transcripts: only fix and count")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    settings = Settings()
    print(f"Whisper base int8, beam 5, {settings.threads} threads")
    for language in args.languages:
        glossary = glossary_for(language)
        paths = synthesise(language, args.cache / language)
        runs, cpu, audio_s = transcribe_all(language, paths, glossary, args.cache / f"{language}-transcripts.json",
                                            args.reuse)
        total_names = sum(len(names) for _, names in SETS[language])
        right = dict.fromkeys(VARIANTS, 0)
        edits = dict.fromkeys(VARIANTS, 0)
        length = 0
        truth: dict[str, list[tuple[float, bool, bool]]] = {"none": [], "hotwords + fix": []}
        print(f"\n== {language}: {len(paths)} sentences, {total_names} names, glossary of {len(glossary.terms)} terms")
        for run, (reference, names) in zip(runs, SETS[language], strict=True):
            for variant in VARIANTS:
                text = run[variant].text
                right[variant] += names_right(text, names, language)
                edits[variant] += error_rate(reference, text, language)[0]
            for variant in truth:
                truth[variant] += word_truth(run[variant], reference, language, glossary)
            length += error_rate(reference, reference, language)[1]
            print(f"  {reference}\n    none: {run['none'].text}\n    hotwords + fix: {run['hotwords + fix'].text}")
        # False fixes: each plain transcript fixed with a glossary that lacks its own sentence's names (every
        # fix is then wrong: another sentence's name written over what was said).
        false_fixes = sum(len(Glossary.parse([t for t in glossary.terms if t not in names]).fix(run["none"])[1])
                          for run, (_, names) in zip(runs, SETS[language], strict=True))
        unit = "CER" if language == "zh" else "WER"
        print(f"\n{'variant':16s} {'names right':>12s} {unit:>6s} {'CPU-s/audio-s':>14s}")
        for variant in VARIANTS:
            print(f"{variant:16s} {right[variant]:5d}/{total_names:<3d} {right[variant] / total_names:4.0%} "
                  f"{edits[variant] / length:6.1%} {cpu[variant] / audio_s:14.3f}")
        print(f"false fixes: {false_fixes} (each sentence fixed with the glossary less its own names)")
        flag_table(truth["none"], "word probability as a mis-hearing flag, no glossary")
        flag_table(truth["hotwords + fix"], "...with the glossary (hotwords + fix)")
        flag_table([t for t in truth["hotwords + fix"] if not t[2]],
                   "...with the glossary, words of glossary terms written right left out")


if __name__ == "__main__":
    main()
