"""Prefect artifacts for editors: what each stage produced, with links."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from newsroom.video.scenes import SceneList
from tasks.common import store


@task(name="summarise-ingest", cache_policy=NO_CACHE)
def summarise_ingest(story_id: str, filename: str, transcript_key: str, manifest_key: str) -> None:
    """A Markdown artifact for editors: language, length, transcript excerpt, every asset with a link."""
    transcript = store().get_json(transcript_key)
    manifest = store().get_json(manifest_key)
    excerpt = transcript["text"][:600] + ("..." if len(transcript["text"]) > 600 else "")
    rows = "\n".join(
        f"| [`{a['key'].split('/', 2)[2]}`]({store().url(a['key'])}) | {a['media_type']} | {a['bytes']:,} | {a['step']} |"
        for a in manifest["assets"]
    )
    note = manifest["stages"].get("ingest", {}).get("note")
    create_markdown_artifact(
        key=f"ingest-{story_id}",
        description=f"Ingest of {filename}",
        markdown=(
            f"# Ingested: {filename}\n\nStory `{story_id}` - language **{transcript['language']}**, "
            f"{transcript['duration_s']:.1f} s, {len(transcript['segments'])} segments "
            f"({transcript['model']}).\n\n"
            + (f"**Note:** {note}\n\n" if note else "")
            + f"> {excerpt or '_no speech found_'}\n\n"
            f"| asset | type | bytes | step |\n|---|---|---|---|\n{rows}\n"
        ),
    )


def _link(key: str) -> str:
    return f"[`{Path(key).name}`]({store().url(key)})"


@task(name="summarise-edit", cache_policy=NO_CACHE)
def summarise_edit(story_id: str, found: SceneList, decision: dict, subtitle_summary: dict | None,
                   cover_keys: list[str], video_keys: list[str]) -> None:
    """Scene table, subtitle conformance, cover and links to every output of the edit."""
    create_table_artifact(
        key=f"scenes-{story_id}",
        description="Scene cuts",
        table=[{"scene": i + 1, "start_s": round(s.start_s, 2), "end_s": round(s.end_s, 2),
                "duration_s": round(s.duration_s, 2)} for i, s in enumerate(found.scenes)],
    )
    if subtitle_summary is None:
        subs = "_No subtitles: the story has no transcribed speech._"
    elif subtitle_summary.get("ok"):
        subs = f"All {subtitle_summary.get('cues', 0)} cues pass the broadcast rules."
    else:
        rows = "\n".join(f"| {rule} | {count} |" for rule, count in subtitle_summary.get("by_rule", {}).items())
        subs = f"**Rule violations**\n\n| rule | cues |\n|---|---|\n{rows}"
    cover = next((k for k in cover_keys if k.endswith("16x9.png")), None)
    ranges = "\n".join(f"| {r['start_s']:.2f} | {r['end_s']:.2f} | {', '.join(map(str, r['sentence_ids']))} |"
                        for r in decision["ranges"])
    create_markdown_artifact(
        key=f"edit-{story_id}",
        description="Edit outputs",
        markdown=(
            f"# Edit of story `{story_id}`\n\n"
            + (f"![cover]({store().url(cover)})\n\n" if cover else "")
            + f"Highlight: {decision['duration_s']:.1f} s of target {decision['target_s']:.0f} s ({decision['note']}).\n\n"
            f"| from s | to s | sentences |\n|---|---|---|\n{ranges}\n\n## Subtitles\n\n{subs}\n\n## Outputs\n\n"
            + "\n".join(f"- {_link(k)}" for k in [*video_keys, *cover_keys])
            + "\n"
        ),
    )
