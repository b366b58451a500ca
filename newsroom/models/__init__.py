"""Packaged model weights, resolved and verified by one registry.

- `specs.py`: the table of packaged models (`MODELS`): packages, files, sha256, sizes;
- `assembly.py`: a model's folder assembled from its packages, checksummed once and stamped;
- `registry.py`: `ModelRegistry`, ids resolved to verified paths (or your own weights), and their status.
"""

from newsroom.models.registry import ModelRegistry, ModelStatus
from newsroom.models.specs import ASR_MODEL_IDS, MODELS, ModelSpec, PackagedFile

__all__ = ["ASR_MODEL_IDS", "MODELS", "ModelRegistry", "ModelSpec", "ModelStatus", "PackagedFile"]
