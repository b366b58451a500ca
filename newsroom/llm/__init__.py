"""News drafts from transcripts, grounded in them: quotes verified verbatim, facts checked.

    backend = load_backend(settings)          # once: loads the GGUF (llama-cpp or transformers) or connects
    draft = write_draft(transcript, backend)  # per story
    draft.to_dict(), draft.to_markdown(), draft.warnings

Quotes are taken from the transcript's numbered sentences (`number_sentences`, `select_quotes`), not written.
"""

from newsroom.llm.backends import (
    BACKENDS,
    LlamaCppBackend,
    LLMBackend,
    OpenAICompatibleBackend,
    TransformersBackend,
    Usage,
    load_backend,
)
from newsroom.llm.draft import (
    SUPPORTED_LANGUAGES,
    Draft,
    DraftOutput,
    NotesOutput,
    QuoteCandidate,
    parse_json,
    split_chunks,
    unsupported_numbers,
    write_draft,
)
from newsroom.llm.errors import EmptyTranscriptError, LLMError, LLMOutputError, LLMUnavailableError
from newsroom.llm.prompts import PROMPT_VERSION, load_prompt
from newsroom.llm.quotes import Quote, TranscriptIndex, normalise, verify_quotes
from newsroom.llm.selection import select_quotes
from newsroom.llm.sentences import Sentence, number_sentences

__all__ = [
    "BACKENDS",
    "PROMPT_VERSION",
    "SUPPORTED_LANGUAGES",
    "Draft",
    "DraftOutput",
    "EmptyTranscriptError",
    "LLMBackend",
    "LLMError",
    "LLMOutputError",
    "LLMUnavailableError",
    "LlamaCppBackend",
    "NotesOutput",
    "OpenAICompatibleBackend",
    "Quote",
    "QuoteCandidate",
    "Sentence",
    "TranscriptIndex",
    "TransformersBackend",
    "Usage",
    "load_backend",
    "load_prompt",
    "normalise",
    "number_sentences",
    "parse_json",
    "select_quotes",
    "split_chunks",
    "unsupported_numbers",
    "verify_quotes",
    "write_draft",
]
