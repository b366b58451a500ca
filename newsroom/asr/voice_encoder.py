"""Resemblyzer's voice encoder run in numpy: 1.6 s of speech -> a 256-d, unit-norm voice embedding.

`resemblyzer==0.1.4` ships its trained weights (`pretrained.pt`, Apache-2.0) in its wheel, but the
package itself needs torch, librosa and webrtcvad. None of them is needed to *run* the network, which is
small: a 3-layer, 256-unit LSTM over 40-channel mel power frames (25 ms windows every 10 ms), the last
layer's final hidden state through a linear layer, ReLU and L2 normalisation. This module reads the
weights with a restricted unpickler (it rebuilds tensors from the file's raw storages and refuses every
other class, so the file cannot run code), computes the same mel frames as librosa and runs the LSTM
batched in numpy. Checked once against torch 2.13 + librosa 0.11 running resemblyzer itself: cosine
>= 0.99999 on every window (see tests/test_speakers.py for the invariants CI checks without torch).

Load once (`VoiceEncoder.load`), call many (`embed`).
"""

from __future__ import annotations

import collections
import io
import logging
import pickle
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsroom.config import Settings, get_settings
from newsroom.errors import ModelIntegrityError
from newsroom.models.registry import ModelRegistry

log = logging.getLogger("newsroom.asr.speakers")

MODEL_ID = "resemblyzer-voice-encoder"
SAMPLE_RATE_HZ = 16_000
MEL_WINDOW_SAMPLES = 400  # 25 ms
MEL_HOP_SAMPLES = 160  # 10 ms: one mel frame every 10 ms
MEL_CHANNELS = 40
WINDOW_FRAMES = 160  # 1.6 s of frames per embedding (resemblyzer's "partial utterance")
EMBEDDING_SIZE = 256
TARGET_DBFS = -30.0  # resemblyzer raises quiet audio to this level (never lowers loud audio)
_BATCH_WINDOWS = 64  # windows per LSTM batch: ~42 MB of gate activations (larger batches are no faster)
_MEL_BLOCK_FRAMES = 6000  # mel frames computed at once: ~30 MB of spectrum

# --------------------------------------------------------------------------- weights


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch's pre-1.6 serialization format
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


@dataclass(frozen=True, slots=True)
class _StorageType:
    dtype: np.dtype


@dataclass(frozen=True, slots=True)
class _Storage:
    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True, slots=True)
class _TensorRef:
    """A tensor as the pickle describes it; its bytes are read after the pickle (legacy format)."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, offset, shape, stride, *_ignored) -> _TensorRef:
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("a tensor whose storage is not a plain storage")
    return _TensorRef(storage, int(offset), tuple(int(s) for s in shape), tuple(int(s) for s in stride))


class _WeightsUnpickler(pickle.Unpickler):
    """Rebuilds torch tensors as references to raw storages; any other class is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"weights file asks for {module}.{name}, which a weights file never needs")

    def persistent_load(self, pid):
        # ("storage", storage type, key, location, number of elements, view metadata)
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        if pid[5] is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        return _Storage(str(pid[2]), pid[1].dtype, int(pid[4]))


def _walk(obj, found: list[_TensorRef]):
    if isinstance(obj, _TensorRef):
        found.append(obj)
    elif isinstance(obj, dict):
        for value in obj.values():
            _walk(value, found)
    elif isinstance(obj, list | tuple):
        for value in obj:
            _walk(value, found)


def load_torch_legacy(path: str | Path) -> dict:
    """A legacy-format (torch < 1.6) `.pt` checkpoint with every tensor as a numpy array, without torch.

    The file is four pickles (magic number, protocol version, system info, the object) followed by the
    list of storage keys and each storage's element count and raw little-endian bytes.
    """
    name = Path(path).name
    data = Path(path).read_bytes()
    if data[:2] == b"PK":
        raise ModelIntegrityError(f"{name} is a zip-format torch checkpoint (torch >= 1.6): only the legacy format, "
                                  "which resemblyzer ships, is read without torch")
    stream = io.BytesIO(data)
    try:
        magic = _WeightsUnpickler(stream).load()
        if magic != _LEGACY_MAGIC:
            raise ModelIntegrityError(f"{name} is not a legacy torch checkpoint (magic {magic!r:.40})")
        _WeightsUnpickler(stream).load()  # protocol version
        sys_info = _WeightsUnpickler(stream).load()
        if not (isinstance(sys_info, dict) and sys_info.get("little_endian", False)):
            raise ModelIntegrityError(f"{name} was written on a big-endian machine: not supported")
        result = _WeightsUnpickler(stream).load()
        keys = _WeightsUnpickler(stream).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise ModelIntegrityError(f"{name} is not a readable weights file ({exc})") from exc
    refs: list[_TensorRef] = []
    _walk(result, refs)
    storages = {ref.storage.key: ref.storage for ref in refs}
    arrays: dict[str, np.ndarray] = {}
    for key in keys:
        storage = storages.get(str(key))
        header = stream.read(8)
        numel = struct.unpack("<q", header)[0] if len(header) == 8 else -1
        if storage is None or numel != storage.numel:
            raise ModelIntegrityError(f"{name}: storage {key} does not match the tensors that use it")
        nbytes = numel * storage.dtype.itemsize
        chunk = stream.read(nbytes)
        if len(chunk) != nbytes:
            raise ModelIntegrityError(f"{name} is cut short in storage {key}")
        arrays[storage.key] = np.frombuffer(chunk, dtype=storage.dtype)

    def materialise(obj):
        if isinstance(obj, _TensorRef):
            flat = arrays.get(obj.storage.key)
            if flat is None:
                raise ModelIntegrityError(f"{name}: storage {obj.storage.key} is missing")
            if len(obj.stride) != len(obj.shape) or any(n < 0 for n in obj.shape):
                raise ModelIntegrityError(f"{name}: a tensor has a malformed shape")
            if 0 in obj.shape:
                return np.zeros(obj.shape, dtype=flat.dtype.newbyteorder("="))
            last = obj.offset + sum((n - 1) * s for n, s in zip(obj.shape, obj.stride, strict=True))
            if obj.offset < 0 or any(s < 0 for s in obj.stride) or last >= flat.size:
                raise ModelIntegrityError(f"{name}: a tensor reaches outside its storage")
            item = flat.itemsize
            view = np.lib.stride_tricks.as_strided(
                flat[obj.offset:], shape=obj.shape, strides=tuple(s * item for s in obj.stride), writeable=False
            )
            return np.array(view, dtype=flat.dtype.newbyteorder("="))
        if isinstance(obj, dict):
            return type(obj)((k, materialise(v)) for k, v in obj.items())
        if isinstance(obj, list | tuple):
            return type(obj)(materialise(v) for v in obj)
        return obj

    return materialise(result)


# --------------------------------------------------------------------------- features


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


def mel_filters(n_fft: int = MEL_WINDOW_SAMPLES, n_mels: int = MEL_CHANNELS,
                sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Slaney-normalised triangular mel filters, (n_mels, n_fft // 2 + 1), as `librosa.filters.mel`."""
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate_hz)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate_hz / 2), n_mels + 2))
    widths = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    return weights.astype(np.float32)


_MEL_FILTERS = mel_filters()
_HANN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(MEL_WINDOW_SAMPLES) / MEL_WINDOW_SAMPLES)).astype(np.float32)


def mel_frames(audio: np.ndarray) -> np.ndarray:
    """Mel power frames (not log), (1 + len // 160, 40) float32: `librosa.feature.melspectrogram` with
    resemblyzer's settings (centred 25 ms Hann windows every 10 ms, zero padding, power 2)."""
    audio = np.asarray(audio, dtype=np.float32)
    pad = MEL_WINDOW_SAMPLES // 2
    padded = np.pad(audio, (pad, pad))
    n_frames = 1 + len(audio) // MEL_HOP_SAMPLES
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, MEL_WINDOW_SAMPLES), strides=(padded.strides[0] * MEL_HOP_SAMPLES, padded.strides[0])
    )
    out = np.empty((n_frames, MEL_CHANNELS), np.float32)
    for first in range(0, n_frames, _MEL_BLOCK_FRAMES):  # in blocks: an hour is 360,000 frames
        block = frames[first:first + _MEL_BLOCK_FRAMES] * _HANN
        power = np.abs(np.fft.rfft(block, axis=1)) ** 2
        out[first:first + len(block)] = power.astype(np.float32) @ _MEL_FILTERS.T
    return out


def normalize_volume(audio: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Raise quiet audio to `target_dbfs` RMS (as resemblyzer does before embedding); loud audio is kept."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0
    if rms <= 1e-9:
        return audio
    gain_db = target_dbfs - 20 * np.log10(rms)
    return audio if gain_db < 0 else (audio * np.float32(10 ** (gain_db / 20))).astype(np.float32)


# --------------------------------------------------------------------------- network


# torch orders an LSTM's gates (input, forget, cell, output); ours are (input, forget, output, cell), so
# the three sigmoid gates are one contiguous block.
_GATE_ORDER = np.r_[0:512, 768:1024, 512:768]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # exact and overflow-free


class VoiceEncoder:
    """The loaded network. Construct with `VoiceEncoder.load(...)` or from a state dict."""

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        try:
            self._layers = []
            for layer in range(3):
                w_ih = state[f"lstm.weight_ih_l{layer}"].astype(np.float32)[_GATE_ORDER]
                w_hh = state[f"lstm.weight_hh_l{layer}"].astype(np.float32)[_GATE_ORDER]
                bias = (state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]).astype(np.float32)
                self._layers.append((np.ascontiguousarray(w_ih.T), np.ascontiguousarray(w_hh.T), bias[_GATE_ORDER]))
            self._linear_w = np.ascontiguousarray(state["linear.weight"].astype(np.float32).T)
            self._linear_b = state["linear.bias"].astype(np.float32)
        except KeyError as exc:
            raise ModelIntegrityError(f"voice encoder weights lack {exc.args[0]}") from None
        if self._layers[0][0].shape != (MEL_CHANNELS, 4 * 256) or self._linear_w.shape != (256, EMBEDDING_SIZE):
            raise ModelIntegrityError("voice encoder weights have unexpected shapes")

    @classmethod
    def load(cls, settings: Settings | None = None) -> VoiceEncoder:
        path = ModelRegistry(settings or get_settings()).resolve(MODEL_ID)
        started = time.perf_counter()
        checkpoint = load_torch_legacy(path)
        state = checkpoint.get("model_state") if isinstance(checkpoint, dict) else None
        if not isinstance(state, dict):
            raise ModelIntegrityError(f"{Path(path).name} holds no model_state")
        encoder = cls(state)
        log.info("loaded %s from %s in %.2fs", MODEL_ID, path, time.perf_counter() - started)
        return encoder

    def forward(self, mels: np.ndarray) -> np.ndarray:
        """Embeddings of a batch of mel windows (batch, frames, 40) -> (batch, 256), unit norm, >= 0."""
        x = np.asarray(mels, dtype=np.float32)
        batch, steps, _ = x.shape
        h = np.zeros((batch, 256), np.float32)
        for w_ih, w_hh, bias in self._layers:
            # The input projection of every step at once (one large matmul), then the recurrence.
            gates_in = (x.reshape(batch * steps, -1) @ w_ih).reshape(batch, steps, 4 * 256)
            gates_in += bias
            h = np.zeros((batch, 256), np.float32)
            c = np.zeros((batch, 256), np.float32)
            outputs = np.empty((batch, steps, 256), np.float32)
            for t in range(steps):
                gates = gates_in[:, t] + h @ w_hh
                ifo = _sigmoid(gates[:, :768])
                c = ifo[:, 256:512] * c + ifo[:, :256] * np.tanh(gates[:, 768:])
                h = ifo[:, 512:] * np.tanh(c)
                outputs[:, t] = h
            x = outputs
        raw = np.maximum(h @ self._linear_w + self._linear_b, 0.0)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        return raw / np.maximum(norms, 1e-12)

    def embed(self, frames: np.ndarray, starts: np.ndarray | list[int]) -> np.ndarray:
        """Embeddings of the 1.6 s windows of `frames` (from `mel_frames`) starting at frame `starts`.

        Windows running past the end are zero-padded, as resemblyzer pads the waveform.
        """
        starts = np.asarray(starts, dtype=np.int64)
        if len(starts) == 0:
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        need = int(starts.max()) + WINDOW_FRAMES
        if need > len(frames):
            frames = np.concatenate([frames, np.zeros((need - len(frames), MEL_CHANNELS), np.float32)])
        index = starts[:, None] + np.arange(WINDOW_FRAMES)[None, :]
        from threadpoolctl import threadpool_limits

        out = np.empty((len(starts), EMBEDDING_SIZE), np.float32)
        # One BLAS thread: the recurrence is 480 mid-sized matmuls per batch, where OpenBLAS's worker
        # threads spin more than they compute (measured 13x the CPU time on a busy 2-core machine).
        with threadpool_limits(limits=1, user_api="blas"):
            for b in range(0, len(starts), _BATCH_WINDOWS):
                out[b:b + _BATCH_WINDOWS] = self.forward(frames[index[b:b + _BATCH_WINDOWS]])
        return out
