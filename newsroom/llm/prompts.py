"""Versioned prompt templates: `prompts/<task>.<version>.<language>.md`.

A published version never changes (drafts record which one wrote them, in `Draft.model`); to change a
prompt, copy it to the next version and switch `PROMPT_VERSION` (or the task's entry in
`TASK_VERSIONS`). A template has `## system`, `## user`
and `## retry` sections; `$name` placeholders are filled with `string.Template` (JSON braces are safe).
HTML comments are notes for editors and are not sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from string import Template

from newsroom.errors import ConfigError

PROMPT_VERSION = "v1"
# Tasks whose current version is not PROMPT_VERSION. draft.v2: no quotes (taken by id with quotes.v1).
TASK_VERSIONS = {"draft": "v2"}
_SECTION_RE = re.compile(r"^## (system|user|retry)\s*$", re.MULTILINE)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    id: str  # e.g. "draft.v1.en"
    system: str
    user: str
    retry: str

    def messages(self, **values: object) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": Template(self.system).substitute(values)},
            {"role": "user", "content": Template(self.user).substitute(values)},
        ]

    def stable_prefix(self) -> list[dict[str, str]] | None:
        """The messages' fixed start: the system message and the user message up to its first placeholder
        (None when the system message itself has placeholders)."""
        if Template(self.system).get_identifiers():
            return None
        first = Template.pattern.search(self.user)
        return [{"role": "system", "content": self.system},
                {"role": "user", "content": self.user[: first.start()] if first else self.user}]

    def retry_message(self, problem: str) -> dict[str, str]:
        return {"role": "user", "content": Template(self.retry).substitute(problem=problem)}


@lru_cache(maxsize=32)
def load_prompt(task: str, language: str, version: str | None = None) -> PromptTemplate:
    version = version or TASK_VERSIONS.get(task, PROMPT_VERSION)
    prompt_id = f"{task}.{version}.{language}"
    path = resources.files("newsroom.llm").joinpath("prompts", f"{prompt_id}.md")
    if not path.is_file():
        raise ConfigError(f"no prompt template {prompt_id}.md in newsroom/llm/prompts: add one to support "
                          f"{task!r} in language {language!r}")
    text = _COMMENT_RE.sub("", path.read_text("utf-8"))
    parts = _SECTION_RE.split(text)
    sections = {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}
    missing = {"system", "user", "retry"} - sections.keys()
    if missing:
        raise ConfigError(f"prompt template {prompt_id}.md lacks the section(s) {', '.join(sorted(missing))}")
    return PromptTemplate(prompt_id, sections["system"], sections["user"], sections["retry"])
