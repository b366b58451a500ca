"""Packaged model weights, resolved and verified by one registry."""

from newsroom.models.registry import (
    ASR_MODEL_IDS,
    MODELS,
    ModelRegistry,
    ModelSpec,
    ModelStatus,
    PackagedFile,
)

__all__ = ["ASR_MODEL_IDS", "MODELS", "ModelRegistry", "ModelSpec", "ModelStatus", "PackagedFile"]
