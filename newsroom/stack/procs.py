"""The stack's processes as the kernel sees them (/proc): every process of a stack, down to ffmpeg, carries
`STACK_ID_ENV` in its environment, so `down` can find any that outlived its service."""

from __future__ import annotations

import os
from pathlib import Path

STACK_ID_ENV = "NEWSROOM_STACK_ID"


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def state(pid: int) -> str:
    """The kernel's one-letter state of a process (R, S, T stopped, Z zombie, ...); "" when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def stack_process(pid: int, stack_id: str) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return state(pid) not in ("Z", "") and f"{STACK_ID_ENV}={stack_id}".encode() in environ.split(b"\0")


def descendants(roots: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found
