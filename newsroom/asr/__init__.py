"""Speech-to-text, with speaker turns."""

from newsroom.asr.speakers import DiarizeOptions, Diarizer, SpeakerTurn, speaker_turns
from newsroom.asr.whisper import DecodeOptions, Transcriber, read_wav, to_simplified

__all__ = ["DecodeOptions", "DiarizeOptions", "Diarizer", "SpeakerTurn", "Transcriber", "read_wav", "speaker_turns",
           "to_simplified"]
