"""What a bench measured, as tables: printed for people, and with `--json PATH` written for bench/results.py,
which collects every bench's tables into bench/RESULTS.md."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Table:
    area: str  # the RESULTS.md section (asr, scenes, upscale, package, webhook, load, faults, hostile input)
    title: str
    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        def cell(value: Any) -> str:
            if isinstance(value, float):
                return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
            return str(value).replace("|", "\\|")

        lines = [f"**{self.title}**", "", "| " + " | ".join(self.columns) + " |",
                 "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in self.rows]
        lines += [""] + [f"- {note}" for note in self.notes] if self.notes else []
        return "\n".join(lines) + "\n"


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", dest="json_path", type=Path, default=None,
                        help="also write the measured tables to this file (for bench/results.py)")


def write_tables(path: Path | None, tables: list[Table]) -> None:
    if path is not None:
        path.write_text(json.dumps([asdict(t) for t in tables], indent=2, ensure_ascii=False))


def read_tables(path: Path) -> list[Table]:
    return [Table(**t) for t in json.loads(path.read_text())]
