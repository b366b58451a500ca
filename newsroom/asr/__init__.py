"""Speech-to-text."""

from newsroom.asr.whisper import DecodeOptions, Transcriber, read_wav, to_simplified

__all__ = ["DecodeOptions", "Transcriber", "read_wav", "to_simplified"]
