"""Prefect artifacts for editors: what each stage produced, with links."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from newsroom.layout import ARTICLE_ROUTE, FOOTAGE_ROUTE, INGEST, StoryLayout
from newsroom.llm import Draft
from newsroom.manifest import Manifest, read_manifest
from newsroom.results import BroadcastSegment, Covers, LoudnessReport, Programme, SubtitleReport
from newsroom.types import Transcript
from newsroom.video.highlight import EditDecision
from newsroom.video.scenes import SceneList
from tasks.common import store


@task(name="summarise-ingest", cache_policy=NO_CACHE)
def summarise_ingest(story_id: str, filename: str, transcript: Transcript, manifest_key: str) -> None:
    """A Markdown artifact for editors: language, length, transcript excerpt, every asset with a link."""
    manifest = Manifest.from_dict(store().get_json(manifest_key))
    prefix = StoryLayout(story_id).prefix
    text = transcript.text
    excerpt = text[:600] + ("..." if len(text) > 600 else "")
    rows = "\n".join(
        f"| [`{a.key.removeprefix(prefix)}`]({store().url(a.key)}) | {a.media_type} | {a.bytes:,} | {a.step} |"
        for a in manifest.assets
    )
    note = manifest.info(INGEST).get("note")
    create_markdown_artifact(
        key=f"ingest-{story_id}",
        description=f"Ingest of {filename}",
        markdown=(
            f"# Ingested: {filename}\n\nStory `{story_id}` - language **{transcript.language}**, "
            f"{transcript.duration_s:.1f} s, {len(transcript.segments)} segments "
            f"({transcript.model}).\n\n"
            + (f"**Note:** {note}\n\n" if note else "")
            + f"> {excerpt or '_no speech found_'}\n\n"
            f"| asset | type | bytes | step |\n|---|---|---|---|\n{rows}\n"
        ),
    )


def _link(key: str) -> str:
    return f"[`{Path(key).name}`]({store().url(key)})"


@task(name="summarise-edit", cache_policy=NO_CACHE)
def summarise_edit(story_id: str, found: SceneList, decision: EditDecision, subtitles: SubtitleReport | None,
                   covers: Covers | None, video_keys: list[str]) -> None:
    """Scene table, subtitle conformance, cover and links to every output of the edit."""
    create_table_artifact(
        key=f"scenes-{story_id}",
        description="Scene cuts",
        table=[{"scene": i + 1, "start_s": round(s.start_s, 2), "end_s": round(s.end_s, 2),
                "duration_s": round(s.duration_s, 2)} for i, s in enumerate(found.scenes)],
    )
    if subtitles is None:
        subs = "_No subtitles: the story has no transcribed speech._"
    elif subtitles.ok:
        subs = f"All {subtitles.cues or 0} cues pass the broadcast rules."
    else:
        rows = "\n".join(f"| {rule} | {count} |" for rule, count in subtitles.by_rule.items())
        subs = f"**Rule violations**\n\n| rule | cues |\n|---|---|\n{rows}"
    if subtitles is not None and subtitles.possible_mishearings:
        subs += ("\n\n**Check these words against the tape** (Whisper was unsure of them):\n\n"
                 + "\n".join(f"- {flag}" for flag in subtitles.possible_mishearings))
    cover = covers.wide if covers else None
    fps = decision.fps
    ranges = "\n".join(f"| {r.start_s(fps):.2f} | {r.end_s(fps):.2f} | {', '.join(map(str, r.sentence_ids))} |"
                        for r in decision.ranges)
    create_markdown_artifact(
        key=f"edit-{story_id}",
        description="Edit outputs",
        markdown=(
            f"# Edit of story `{story_id}`\n\n"
            + (f"![cover]({store().url(cover)})\n\n" if cover else "")
            + f"Highlight: {decision.duration_s:.1f} s of target {decision.target_s:.0f} s ({decision.note}).\n\n"
            f"| from s | to s | sentences |\n|---|---|---|\n{ranges}\n\n## Subtitles\n\n{subs}\n\n## Outputs\n\n"
            + "\n".join(f"- {_link(k)}" for k in [*video_keys, *(covers.keys if covers else ())])
            + "\n"
        ),
    )


@task(name="summarise-broadcast", cache_policy=NO_CACHE)
def summarise_broadcast(story_id: str, draft: Draft, anchor_key: str, result: BroadcastSegment) -> None:
    """The draft for editors (verified and dropped quotes marked), previews and the loudness/subtitle checks."""
    quotes = "\n".join(
        f"- ✅ “{q.text}” — {q.speaker or 'unattributed'} ({q.start_s:.1f}-{q.end_s:.1f} s)" for q in draft.quotes
    ) or "_no verified quotes_"
    dropped = "\n".join(f"- ❌ not in the transcript, not published: “{q}”" for q in draft.dropped_quotes)
    create_markdown_artifact(
        key=f"draft-{story_id}",
        description="News draft",
        markdown=(
            f"# {draft.headline}\n\n**{draft.lede}**\n\n{draft.body}\n\n## Quotes\n\n{quotes}\n"
            + (f"\n{dropped}\n" if dropped else "")
            + f"\n## Anchor script\n\n> {draft.anchor_script}\n\n_Model: {draft.model or '?'}_\n"
        ),
    )
    create_markdown_artifact(
        key=f"broadcast-{story_id}",
        description="Broadcast segment",
        markdown=(
            f"# Broadcast: {draft.headline}\n\n- Anchor preview: {_link(anchor_key)}\n"
            + "\n".join(f"- {_link(k)}" for k in result.keys)
            + "\n\n" + _checklist(result.loudness, result.subtitles, draft)
        ),
    )
    create_table_artifact(key=f"checklist-{story_id}", description="Final checklist",
                          table=_checklist_rows(result.loudness, result.subtitles, draft))


def _checklist_rows(loud: LoudnessReport, subs: SubtitleReport, draft: Draft) -> list[dict]:
    return [
        {"check": "subtitle conformance", "ok": subs.ok, "detail": f"{subs.violations} rule violations"},
        {"check": "loudness", "ok": loud.ok,
         "detail": f"{loud.integrated_lufs:.1f} LUFS (target {loud.target_lufs:.0f}), "
                   f"true peak {loud.true_peak_dbtp:.1f} dBTP"},
        {"check": "quote verification", "ok": True,
         "detail": f"{len(draft.quotes)} verified, {len(draft.dropped_quotes)} dropped"},
    ]


def _checklist(loud: LoudnessReport, subs: SubtitleReport, draft: Draft) -> str:
    rows = "\n".join(f"| {r['check']} | {'✅' if r['ok'] else '⚠️'} | {r['detail']} |"
                     for r in _checklist_rows(loud, subs, draft))
    return f"| check | ok | detail |\n|---|---|---|\n{rows}\n"


def _links(layout: StoryLayout, manifest: Manifest, route: tuple[str, ...] = FOOTAGE_ROUTE) -> list[str]:
    """A Markdown link to each finished file of the story that its manifest lists (translated subtitles too)."""
    listed = {asset.key for asset in manifest.assets}
    return [f"- [{name}]({store().url(key)})" for key, name in layout.handouts(route, listed).items()
            if key != layout.manifest]


@task(name="summarise-package", cache_policy=NO_CACHE)
def summarise_package(story_id: str, note: str | None = None) -> None:
    """One page per story an editor can act on: headline, lede, cover, every deliverable, the checklist."""
    manifest = Manifest.from_dict(read_manifest(store(), story_id))
    layout = StoryLayout(story_id)
    draft = Draft.from_dict(store().get_json(layout.draft_json)) if manifest.has(layout.draft_json) else None
    links = _links(layout, manifest)
    checks = BroadcastSegment.checks_in(manifest)
    checklist = "\n## Checklist\n\n" + _checklist(*checks, draft) if checks and draft else ""
    create_markdown_artifact(
        key=f"story-{story_id}",
        description="Story package",
        markdown=(
            f"# {(draft.headline if draft else '') or 'Story ' + story_id}\n\n"
            + (f"**{draft.lede}**\n\n" if draft and draft.lede else "")
            + (f"![cover]({store().url(layout.cover_16x9)})\n\n" if manifest.has(layout.cover_16x9) else "")
            + (f"**Note:** {note}\n\n" if note else "")
            + f"Story `{story_id}` - {len(links)} files:\n\n" + "\n".join(links) + "\n" + checklist
        ),
    )


@task(name="record-run", cache_policy=NO_CACHE)
def record_run(story_id: str, source: str, state: str, note: str | None = None) -> None:
    """runs/<flow-run id>.json: lets the webhook's status call find this run's story and its files."""
    from datetime import UTC, datetime

    from prefect.runtime import flow_run

    from newsroom.storage.keys import run_record_key

    if flow_run.id:
        store().put_json(run_record_key(str(flow_run.id)), {
            "story_id": story_id, "source": source, "state": state, "note": note,
            "updated": datetime.now(UTC).isoformat(timespec="seconds")})


@task(name="summarise-programme", cache_policy=NO_CACHE)
def summarise_programme(story_id: str, title: str, programme: Programme, cover_key: str | None,
                        route: tuple[str, ...] = ARTICLE_ROUTE) -> None:
    """The story page of an article video or a bulletin: title, cover, every deliverable, the checks."""
    manifest = Manifest.from_dict(read_manifest(store(), story_id))
    layout = StoryLayout(story_id)
    links = _links(layout, manifest, route)
    loud, subs = programme.loudness, programme.subtitles.report
    rows = [("subtitle conformance", subs.ok, f"{subs.violations} rule violations in {subs.cues or 0} cues"),
            ("loudness", loud.ok, f"{loud.integrated_lufs:.1f} LUFS (target {loud.target_lufs:.0f}), "
                                  f"true peak {loud.true_peak_dbtp:.1f} dBTP")]
    table = "\n".join(f"| {check} | {'✅' if ok else '⚠️'} | {detail} |" for check, ok, detail in rows)
    create_markdown_artifact(
        key=f"story-{story_id}",
        description="Story package",
        markdown=(
            f"# {title}\n\n" + (f"![cover]({store().url(cover_key)})\n\n" if cover_key else "")
            + f"Story `{story_id}` - {programme.duration_s:.1f} s - {len(links)} files:\n\n" + "\n".join(links)
            + f"\n\n## Checklist\n\n| check | ok | detail |\n|---|---|---|\n{table}\n"
        ),
    )
