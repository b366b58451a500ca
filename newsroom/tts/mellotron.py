"""ttskit's Mandarin networks, inference only: multi-speaker Mellotron (Tacotron 2) + MelGAN, in torch.

The ttskit wheel ships both networks as pickled torch modules whose classes live in its own code
(`mellotron.model.Tacotron2`, `melgan.model.generator.Generator`, ...). Importing that code pulls in
librosa, numba/llvmlite, scikit-learn, aukit and pydub (~300 MB) and puts ttskit's folder on `sys.path`,
all for layers the forward pass never uses. So the inference path is restated here, op for op (it gives
the same samples as ttskit's `tts_sdk` with the same seed), and the pickles are read by torch's
restricted `weights_only` unpickler, which builds only the classes listed in `_ALLOWED` and runs no code
from the file: no `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`, no ttskit import, no downloader.

Adapted from ttskit 0.3.8 (MIT, (c) 2021 KDD), itself after NVIDIA's Mellotron/Tacotron 2 (BSD-3) and
seungwonpark/melgan (BSD-3).

Inference details kept from the original: the prenet's dropout stays on (Tacotron 2 needs it at
inference), so `synthesize` takes a seed and draws from a private generator state; decoding stops when
the gate passes the checkpoint's own `gate_threshold` (0.8) or after `max_decoder_steps` (1200 frames,
~13.9 s).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.weight_norm import WeightNorm

log = logging.getLogger("newsroom.tts")

SAMPLE_RATE_HZ = 22_050
HOP_SAMPLES = 256  # one decoder frame
SPEAKER_DIM = 32  # the mspk checkpoint embeds a speaker as 32 md5 hex digits
MELGAN_PAD_FRAMES = 10
MELGAN_PAD_VALUE = -11.5129  # log(1e-5): silence in the mel domain
MAX_WAV_VALUE = 32768.0
_TORCH_STATE = threading.Lock()  # held while a read changes torch's process-wide thread count and RNG


# --------------------------------------------------------------------------- Tacotron 2 (Mellotron mspk)

class LinearNorm(nn.Module):
    def forward(self, x):
        return self.linear_layer(x)


class ConvNorm(nn.Module):
    def forward(self, x):
        return self.conv(x)


class LocationLayer(nn.Module):
    def forward(self, attention_weights_cat):
        processed = self.location_conv(attention_weights_cat).transpose(1, 2)
        return self.location_dense(processed)


class Attention(nn.Module):
    def forward(self, query, memory, processed_memory, attention_weights_cat):
        processed_query = self.query_layer(query.unsqueeze(1))
        processed_attention = self.location_layer(attention_weights_cat)
        energies = self.v(torch.tanh(processed_query + processed_attention + processed_memory)).squeeze(-1)
        weights = F.softmax(energies, dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights


class Prenet(nn.Module):
    def forward(self, x):
        for linear in self.layers:
            x = F.dropout(F.relu(linear(x)), p=0.5, training=True)  # on at inference, as trained
        return x


class Postnet(nn.Module):
    def forward(self, x):
        for conv in self.convolutions[:-1]:
            x = torch.tanh(conv(x))
        return self.convolutions[-1](x)


class Encoder(nn.Module):
    def inference(self, x):
        for conv in self.convolutions:
            x = F.relu(conv(x))
        self.lstm.flatten_parameters()
        outputs, _ = self.lstm(x.transpose(1, 2))
        return outputs


class Decoder(nn.Module):
    def inference(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Frames until the gate fires: mels (1, n_mel, T), gate logits (1, T), alignments (1, T, T_in)."""
        batch, steps_in = memory.size(0), memory.size(1)
        attention_hidden = memory.new_zeros(batch, self.attention_rnn_dim)
        attention_cell = memory.new_zeros(batch, self.attention_rnn_dim)
        decoder_hidden = memory.new_zeros(batch, self.decoder_rnn_dim)
        decoder_cell = memory.new_zeros(batch, self.decoder_rnn_dim)
        weights = memory.new_zeros(batch, steps_in)
        weights_cum = memory.new_zeros(batch, steps_in)
        context = memory.new_zeros(batch, self.encoder_embedding_dim)
        processed_memory = self.attention_layer.memory_layer(memory)

        frame = memory.new_zeros(batch, self.n_mel_channels * self.n_frames_per_step)
        mels, gates, alignments = [], [], []
        while True:
            cell_input = torch.cat((self.prenet(frame), context), -1)
            attention_hidden, attention_cell = self.attention_rnn(cell_input, (attention_hidden, attention_cell))
            weights_cat = torch.cat((weights.unsqueeze(1), weights_cum.unsqueeze(1)), dim=1)
            context, weights = self.attention_layer(attention_hidden, memory, processed_memory, weights_cat)
            weights_cum = weights_cum + weights
            decoder_input = torch.cat((attention_hidden, context), -1)
            decoder_hidden, decoder_cell = self.decoder_rnn(decoder_input, (decoder_hidden, decoder_cell))
            hidden_context = torch.cat((decoder_hidden, context), dim=1)
            frame = self.linear_projection(hidden_context)
            gate = self.gate_layer(hidden_context)
            mels.append(frame)
            gates.append(gate)
            alignments.append(weights)
            if float(torch.sigmoid(gate.min())) > self.gate_threshold or len(mels) >= self.max_decoder_steps:
                break
        mel = torch.stack(mels).transpose(0, 1).reshape(batch, -1, self.n_mel_channels).transpose(1, 2)
        gate_logits = torch.stack(gates).squeeze(-1).transpose(0, 1)
        return mel, gate_logits, torch.stack(alignments).transpose(0, 1)


class Tacotron2(nn.Module):
    def inference(self, symbols: torch.Tensor, speaker: torch.Tensor):
        embedded = self.encoder.inference(self.embedding(symbols).transpose(1, 2))
        speakers = self.speaker_embedding(speaker)[:, None].repeat(1, embedded.size(1), 1)
        mel, gates, alignments = self.decoder.inference(torch.cat((embedded, speakers), dim=2))
        return mel + self.postnet(mel), gates, alignments


# --------------------------------------------------------------------------- MelGAN

class ResStack(nn.Module):
    def forward(self, x):
        for block, shortcut in zip(self.blocks, self.shortcuts, strict=True):
            x = shortcut(x) + block(x)
        return x


class Generator(nn.Module):
    def inference(self, mel: torch.Tensor) -> torch.Tensor:
        """Mel (1, n_mel, T) -> float audio in [-1, 1), T * HOP_SAMPLES samples."""
        pad = torch.full((1, self.mel_channel, MELGAN_PAD_FRAMES), MELGAN_PAD_VALUE)  # cuts the tail artefact
        audio = self.generator((torch.cat((mel, pad), dim=2) + 5.0) / 5.0).squeeze()
        return audio[: -(HOP_SAMPLES * MELGAN_PAD_FRAMES)]


# The pickles' class paths -> the classes above; everything else they hold is plain torch.
_ALLOWED = [
    *((cls, f"mellotron.model.{cls.__name__}")
      for cls in (Tacotron2, Encoder, Decoder, Attention, LocationLayer, Prenet, Postnet)),
    (LinearNorm, "mellotron.layers.LinearNorm"),
    (ConvNorm, "mellotron.layers.ConvNorm"),
    (Generator, "melgan.model.generator.Generator"),
    (ResStack, "melgan.model.res_stack.ResStack"),
    nn.BatchNorm1d, nn.Conv1d, nn.ConvTranspose1d, nn.Embedding, nn.LSTM, nn.LSTMCell, nn.LeakyReLU, nn.Linear,
    nn.ModuleList, nn.ReflectionPad1d, nn.Sequential, nn.Tanh, WeightNorm, set,
]


def load_module(path: Path, expected: type[nn.Module]) -> nn.Module:
    """One of ttskit's pickled modules, read by torch's weights-only unpickler (no code from the file runs)."""
    import pickle

    from newsroom.errors import ModelIntegrityError

    try:
        with torch.serialization.safe_globals(_ALLOWED):
            module = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelIntegrityError(
            f"{path.name} is not ttskit 0.3.8's checkpoint (it asks for code the voice does not run: "
            f"{str(exc).splitlines()[0][:200]}): use the packaged weights (pip install --no-deps ttskit==0.3.8)"
        ) from exc
    if not isinstance(module, expected):
        raise ModelIntegrityError(f"{path.name} holds a {type(module).__name__}, not ttskit's {expected.__name__}: "
                                  "use the packaged weights (pip install --no-deps ttskit==0.3.8)")
    return module.eval()


def speaker_vector(name: str) -> torch.Tensor:
    """ttskit's mspk speaker code: the md5 of the name as 32 hex digits, each (d - 7) / 10."""
    digits = hashlib.md5(name.encode("utf-8")).hexdigest()
    return torch.tensor([[(int(d, 16) - 7) / 10 for d in digits]], dtype=torch.float32)


@dataclass(frozen=True, slots=True)
class Synthesis:
    """One utterance: audio at SAMPLE_RATE_HZ, and per decoder frame the input symbol it attended most."""

    audio: np.ndarray
    attended: np.ndarray  # (frames,) int: argmax of the attention over the input symbols
    frames: int
    stopped: bool  # the gate fired (False: it ran to max_decoder_steps, a failed read)
    focus: float  # mean over frames of the largest attention weight: near 1 for a clean, confident read


class Networks:
    """The two loaded networks; `synthesize` turns symbol ids into audio (deterministic for a seed)."""

    def __init__(self, tacotron: Tacotron2, melgan: Generator) -> None:
        self.tacotron = tacotron
        self.melgan = melgan
        for module in melgan.modules():  # fold the weight norms once: the same weights, fewer ops per call
            if any(isinstance(h, WeightNorm) for h in module._forward_pre_hooks.values()):
                torch.nn.utils.remove_weight_norm(module)

    @classmethod
    def load(cls, mellotron_pt: Path, melgan_pt: Path) -> Networks:
        return cls(load_module(mellotron_pt, Tacotron2), load_module(melgan_pt, Generator))  # type: ignore[arg-type]

    @property
    def max_frames(self) -> int:
        return int(self.tacotron.decoder.max_decoder_steps)

    def synthesize(self, symbols: list[int], speaker: torch.Tensor, *, seed: int, threads: int) -> Synthesis:
        with _TORCH_STATE:  # torch's thread count and RNG are process-wide: two reads in two threads take turns
            return self._synthesize(symbols, speaker, seed=seed, threads=threads)

    def _synthesize(self, symbols: list[int], speaker: torch.Tensor, *, seed: int, threads: int) -> Synthesis:
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            with torch.random.fork_rng(devices=[]), torch.inference_mode():
                torch.manual_seed(seed)
                mel, gates, alignments = self.tacotron.inference(torch.tensor([symbols], dtype=torch.long), speaker)
                fired = torch.sigmoid(gates[0]) > self.tacotron.decoder.gate_threshold
                # The frame where the gate fires is the end marker, not speech (as ttskit cuts it).
                end = int(torch.argmax(fired.int())) if bool(fired.any()) else mel.size(2)
                end = max(end, 1)
                audio = self.melgan.inference(mel[:, :, :end])
                peak, attended = alignments[0, :end].max(dim=1)
        finally:
            torch.set_num_threads(previous_threads)
        return Synthesis(audio.numpy().astype(np.float32), attended.numpy(), end, bool(fired.any()),
                         float(peak.mean()))
