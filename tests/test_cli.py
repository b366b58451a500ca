"""The `newsroom` command as a user runs it: real subprocesses, clean stdout, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_FIXTURES

NEWSROOM = [sys.executable, "-m", "newsroom.cli"]


def run(*args: str, env_extra: dict[str, str] | None = None, cwd: Path | None = None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([*NEWSROOM, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def test_transcribe_json_is_clean_on_stdout(tmp_path):
    glossary = tmp_path / "names.txt"
    glossary.write_text("# the desk's spelling\ncity council -> City Council\n", "utf-8")
    result = run("transcribe", str(SHARED_FIXTURES / "en_espeak.wav"), "--model", "tiny.en", "--json",
                 "--out", str(tmp_path / "t.json"), "--glossary", str(glossary))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert data["language"] == "en" and data["model"] == "whisper-tiny.en-int8"
    assert "football team" in data["text"].lower()
    assert "City Council" in data["text"] and "city council" not in data["text"]  # the glossary's correction
    assert {s["speaker"] for s in data["segments"]} == {"S1"}  # speaker turns are on by default
    assert json.loads((tmp_path / "t.json").read_text()) == data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["transcribe", "{media}/text.mp4"], "not readable media"),
        (["transcribe", "{media}/empty.mp4"], "empty (0 bytes)"),
        (["transcribe", "{media}/noaudio.mp4"], "no audio track"),
        (["transcribe", "{media}/nope.mp4"], "does not exist"),
        (["transcribe", str(SHARED_FIXTURES / "en_espeak.wav"), "--glossary", "{media}/none.txt"],
         "none.txt does not exist: give a UTF-8 text file"),
        (["ingest", "ftp://host/file.mp4"], "unsupported source scheme"),
        (["ingest", "{media}/missing-file.mp4"], "does not exist"),
        (["speak", "你好", "--language", "zh", "--voice", "espeak:zh"], "unknown voice engine 'espeak'"),
        (["speak", "你好", "--language", "zh", "--voice", "ttskit:Nobody"], "choose one of Aibao"),
    ],
)
def test_bad_input_is_one_readable_line(media_dir, tmp_path, args, message):
    args = [a.format(media=media_dir) for a in args]
    result = run(*args, env_extra={"NEWSROOM_LOCAL_ROOT": str(tmp_path / "store")})
    assert result.returncode == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and message in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not any((tmp_path / "store").rglob("*.*")) if (tmp_path / "store").exists() else True


def test_usage_errors_exit_2():
    result = run("transcribe", "x.wav", "--language", "fr")
    assert result.returncode == 2 and "fr" in result.stderr


def test_models_list_and_verify_json():
    listed = run("models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    ids = {m["id"] for m in json.loads(listed.stdout)}
    assert {"whisper-base", "whisper-tiny-en", "piper-joe-en"} <= ids
    verified = run("models", "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    assert all(m["ready"] for m in json.loads(verified.stdout))


def test_probe_json(media_dir):
    result = run("probe", str(media_dir / "av.mp4"), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["streams"][0]["width"] == 320
