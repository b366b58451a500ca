"""English anchor voice: Piper (VITS, ONNX) with the packaged en_US "joe" voice.

Piper-tts is GPL-3.0 (the `tts` extra); the voice itself is CC0.

Three things beyond `piper.PiperVoice.synthesize`:
- Reproducible audio. The VITS graph draws Gaussian noise (`RandomNormalLike`) for the duration predictor
  and the flow on every call, so the same text never sounds the same twice. At load the two nodes are
  replaced by slices of one noise input drawn once from `NOISE_SEED`: identical input -> identical samples,
  with the voice's own noise scales (its natural variation) kept.
- Phoneme timings. The graph's `w_ceil` tensor (frames per phoneme id, exposed as by piper's
  `include_alignments=True`) times the hop length gives the samples of every phoneme; they sum to the
  audio length exactly. Stress marks are folded into the sound they precede, length marks and diacritics
  into the sound they follow, so each timing is a sound a mouth makes (or `SILENCE`, " ", punctuation).
- Word timings. espeak joins some words ("of the" -> "ʌvðə"), so the script's words are found in the
  sentence's phonemes by aligning each word's own phonemes against them (difflib), not by counting spaces.
"""

from __future__ import annotations

import difflib
import json
import logging
import unicodedata
from pathlib import Path

import numpy as np

from newsroom.config import Settings, get_settings
from newsroom.errors import ModelNotInstalledError
from newsroom.models.registry import ModelRegistry
from newsroom.tts.base import SILENCE, Progress, Rendered, speak
from newsroom.tts.text import Chunk, chunks
from newsroom.types import Speech

log = logging.getLogger("newsroom.tts")

MODEL_ID = "piper-joe-en"
LENGTH_SCALE = 1.1  # 10% slower than the voice's default: a measured news read
VOLUME = 0.9  # peak headroom; piper's own normalisation peaks at 0.99997
NOISE_SEED = 20260101
NOISE_INPUT = "newsroom_noise"
NOISE_SIZE = 192 * 4096  # covers ~47 s of frames per chunk before the noise repeats

_BOS, _EOS, _PAD = "^", "$", "_"
_STRESS = frozenset("ˈˌ")
_MODIFIERS = frozenset("ːˑʲʰʷˠˤ˞")
_NOT_SOUNDS = frozenset(" .,;:!?\"'()-—…") | _STRESS


def _is_modifier(phoneme: str) -> bool:
    return phoneme in _MODIFIERS or all(unicodedata.combining(c) for c in phoneme)


def seed_noise(graph) -> int:
    """Replace every RandomNormalLike in an ONNX graph by a slice of the graph input `NOISE_INPUT`.

    Each node keeps its output name and shape: noise[0 : prod(shape)] (tiled if longer) reshaped like its
    input, times its scale plus its mean. Returns how many nodes were replaced.
    """
    from onnx import TensorProto, helper

    nodes = list(graph.graph.node)
    replaced = 0
    new_nodes = []
    for node in nodes:
        if node.op_type != "RandomNormalLike":
            new_nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        p = f"/newsroom_noise_{replaced}"
        like, out = node.input[0], node.output[0]
        new_nodes += [
            helper.make_node("Shape", [like], [f"{p}/shape"]),
            helper.make_node("ReduceProd", [f"{p}/shape"], [f"{p}/count"], keepdims=1),
            helper.make_node("Shape", [NOISE_INPUT], [f"{p}/have"]),
            helper.make_node("Div", [f"{p}/count", f"{p}/have"], [f"{p}/div"]),
            helper.make_node("Add", [f"{p}/div", f"{p}/one"], [f"{p}/reps"]),
            helper.make_node("Tile", [NOISE_INPUT, f"{p}/reps"], [f"{p}/tiled"]),
            helper.make_node("Slice", [f"{p}/tiled", f"{p}/zero", f"{p}/count"], [f"{p}/flat"]),
            helper.make_node("Reshape", [f"{p}/flat", f"{p}/shape"], [f"{p}/unit"]),
            helper.make_node("Mul", [f"{p}/unit", f"{p}/scale"], [f"{p}/scaled"]),
            helper.make_node("Add", [f"{p}/scaled", f"{p}/mean"], [out]),
        ]
        graph.graph.initializer.extend([
            helper.make_tensor(f"{p}/one", TensorProto.INT64, [1], [1]),
            helper.make_tensor(f"{p}/zero", TensorProto.INT64, [1], [0]),
            helper.make_tensor(f"{p}/scale", TensorProto.FLOAT, [], [float(attrs.get("scale", 1.0))]),
            helper.make_tensor(f"{p}/mean", TensorProto.FLOAT, [], [float(attrs.get("mean", 0.0))]),
        ])
        replaced += 1
    if replaced:
        del graph.graph.node[:]
        graph.graph.node.extend(new_nodes)
        graph.graph.input.append(helper.make_tensor_value_info(NOISE_INPUT, TensorProto.FLOAT, [None]))
    return replaced


class PiperVoice:
    """The English anchor voice. Construct with `PiperVoice.load()`; `synthesize` many times."""

    language = "en"
    languages = frozenset({language})  # the one language this model's phonemes read
    engine = "piper"

    def __init__(self, session, config, phonemizer, settings: Settings, *, length_scale: float = LENGTH_SCALE,
                 volume: float = VOLUME) -> None:
        self._session = session
        self._config = config
        self._phonemizer = phonemizer  # a piper.PiperVoice, used for its espeak phonemisation only
        self._settings = settings
        self._noise = np.random.default_rng(NOISE_SEED).standard_normal(NOISE_SIZE, dtype=np.float32)
        self._scales = np.array([config.noise_scale, length_scale, config.noise_w_scale], dtype=np.float32)
        self.volume = volume
        self.model_id = MODEL_ID

    @classmethod
    def load(cls, settings: Settings | None = None) -> PiperVoice:
        settings = settings or get_settings()
        model = ModelRegistry(settings).resolve(MODEL_ID)
        try:
            import onnx
            import onnxruntime
            from piper import PiperVoice as _Piper
            from piper.config import PiperConfig
            from piper.patch_voice_with_alignment import add_alignment_output
        except ImportError as exc:
            raise ModelNotInstalledError(
                f"the English voice needs piper-tts and onnx ({exc.name} is missing): pip install 'newsroom[tts]'"
            ) from exc
        config_path = Path(f"{model}.json")
        config = PiperConfig.from_dict(json.loads(config_path.read_text("utf-8")))
        graph = onnx.load(str(model))
        try:
            add_alignment_output(graph)
        except ValueError as exc:  # a voice file that was already patched
            log.debug("alignment output: %s", exc)
        if not seed_noise(graph):
            log.warning("%s has no noise nodes to seed; its output is deterministic already", model.name)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = settings.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(graph.SerializeToString(), sess_options=options,
                                               providers=["CPUExecutionProvider"])
        if len(session.get_outputs()) < 2:
            raise ModelNotInstalledError(f"{model} gives no phoneme durations: use the packaged piper-joe-en voice")
        log.info("loaded %s (%s, %d Hz)", MODEL_ID, model, config.sample_rate)
        return cls(session, config, _Piper(session=session, config=config), settings)

    @property
    def sample_rate_hz(self) -> int:
        return self._config.sample_rate

    # -- per call
    def synthesize(self, text: str, out_wav: str | Path, *, progress: Progress | None = None) -> Speech:
        """Read `text` (normalised, sentence by sentence) into `out_wav` at settings.tts_sample_rate_hz."""
        return speak(chunks(text, self.language), self._render, out_wav,
                     sample_rate_hz=self._settings.tts_sample_rate_hz, language=self.language,
                     engine=self.engine, text=text, progress=progress)

    def phonemize(self, text: str) -> list[str]:
        """espeak-ng IPA for `text`, one code point per item, sentences joined by a space."""
        out: list[str] = []
        for sentence in self._phonemizer.phonemize(text):
            if out and sentence:
                out.append(" ")
            out.extend(sentence)
        return out

    def _ids(self, phonemes: list[str]) -> tuple[list[int], list[tuple[str, int]]]:
        """Model ids and, per phoneme (BOS/EOS included), how many ids it took: piper's layout."""
        id_map = self._config.phoneme_id_map
        pad = list(id_map[_PAD])
        ids: list[int] = []
        groups: list[tuple[str, int]] = []
        for phoneme in [_BOS, *phonemes, _EOS]:
            if phoneme not in id_map:
                log.debug("phoneme %r is not in the voice's map: skipped", phoneme)
                continue
            these = list(id_map[phoneme]) + (pad if phoneme != _EOS else [])
            ids += these
            groups.append((phoneme, len(these)))
        return ids, groups

    def _run(self, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        audio, frames = self._session.run(None, {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": self._scales,
            NOISE_INPUT: self._noise,
        })[:2]
        samples = (np.asarray(frames).reshape(-1) * self._config.hop_length).astype(np.int64)
        return np.asarray(audio, dtype=np.float32).reshape(-1), samples

    def _render(self, chunk: Chunk) -> Rendered:
        phonemes = self.phonemize(chunk.text)
        ids, groups = self._ids(phonemes)
        audio, samples = self._run(ids)
        if len(samples) != len(ids) or int(samples.sum()) != len(audio):
            # Never seen with the packaged voice; keep the file and drop the timings rather than lie.
            log.warning("piper durations do not match its audio (%d vs %d samples): no phoneme timings",
                        int(samples.sum()), len(audio))
            return Rendered(np.clip(audio * self.volume, -1.0, 1.0), self.sample_rate_hz)
        per_phoneme = []
        position = 0
        for phoneme, n_ids in groups:
            per_phoneme.append((phoneme, int(samples[position:position + n_ids].sum())))
            position += n_ids
        return Rendered(
            audio=np.clip(audio * self.volume, -1.0, 1.0),
            sample_rate_hz=self.sample_rate_hz,
            phonemes=tuple(_sounds(per_phoneme)),
            words=tuple(self._words(chunk, per_phoneme)),
        )

    def _words(self, chunk: Chunk, per_phoneme: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
        """Each written token of the chunk with the samples from its first sound to its last.

        A token starts at the sentence sound its own first phoneme aligns with (interpolated between
        aligned neighbours when espeak spelled it differently in context) and ends with the last sound
        before the next token starts; spaces, punctuation and silence between words belong to no word.
        """
        starts = np.concatenate([[0], np.cumsum([n for _, n in per_phoneme])])
        sounds = [i for i, (p, _) in enumerate(per_phoneme) if p not in _NOT_SOUNDS and p not in (_BOS, _EOS)]
        if not sounds:
            return []
        own = ["".join(p for p in self.phonemize(t.spoken) if p not in _NOT_SOUNDS) for t in chunk.tokens]
        joined = "".join(own)
        sentence = "".join(per_phoneme[i][0] for i in sounds)
        matcher = difflib.SequenceMatcher(None, joined, sentence, autojunk=False)
        anchors = [(0, 0)]
        for a, b, size in matcher.get_matching_blocks():
            anchors += [(a + k, b + k) for k in range(size)]
        anchors.append((len(joined), len(sentence)))
        anchor_at = dict(anchors)
        known = sorted(anchor_at)

        def where(k: int) -> int:
            """The sentence sound the k-th of the token phonemes stands for."""
            if k in anchor_at:
                return anchor_at[k]
            j = np.searchsorted(known, k)
            (a0, b0), (a1, b1) = (known[j - 1], anchor_at[known[j - 1]]), (known[j], anchor_at[known[j]])
            return b0 + (k - a0) * (b1 - b0) // max(a1 - a0, 1)

        firsts, k = [], 0
        for phon in own:
            firsts.append(min(where(k), len(sounds)))
            k += len(phon)
        firsts.append(len(sounds))
        firsts = list(np.maximum.accumulate(firsts))
        words = []
        for i, token in enumerate(chunk.tokens):
            first, stop = firsts[i], firsts[i + 1]
            if stop <= first:  # espeak said it as part of its neighbour: a point in time
                at = int(starts[sounds[min(first, len(sounds) - 1)]])
                words.append((token.written, at, at))
                continue
            last = sounds[stop - 1]
            while last + 1 < len(per_phoneme) and _is_modifier(per_phoneme[last + 1][0]):
                last += 1
            words.append((token.written, int(starts[sounds[first]]), int(starts[last + 1])))
        return words


def _sounds(per_phoneme: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Fold stress marks forward and length marks/diacritics back: one unit per sound."""
    units: list[tuple[str, int]] = []
    stress, stress_n = "", 0
    for phoneme, n in per_phoneme:
        if phoneme in (_BOS, _EOS):
            phoneme = SILENCE
        if phoneme in _STRESS:
            stress, stress_n = stress + phoneme, stress_n + n
            continue
        if _is_modifier(phoneme) and units and units[-1][0] not in _NOT_SOUNDS and units[-1][0] != SILENCE:
            units[-1] = (units[-1][0] + phoneme, units[-1][1] + n)
            continue
        if stress and phoneme not in _NOT_SOUNDS and phoneme != SILENCE:
            units.append((stress + phoneme, stress_n + n))
            stress, stress_n = "", 0
            continue
        units.append((phoneme, n))
    if stress_n:  # a stress mark with no sound after it: its samples go to the last unit
        label, n = units[-1]
        units[-1] = (label, n + stress_n)
    return units
