"""Commands for the programmes made from text: an article with its pictures, a bulletin of items."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from newsroom.cli.common import (
    AnchorChoice,
    LanguageChoice,
    LoudnessChoice,
    TranslateOption,
    copy_handouts,
    err,
    print_outputs,
    run_flow,
)
from newsroom.errors import NewsroomError


def article_cmd(
    source: Annotated[str, typer.Argument(help="The article: Markdown with front matter, or JSON (path or key).")],
    image: Annotated[list[str] | None, typer.Option(
        "--image", help="A picture (path or object key), in order; repeat it. Replaces the files the article names.")
    ] = None,
    language: Annotated[LanguageChoice, typer.Option(help="The article's language.")] = LanguageChoice.auto,
    target_s: Annotated[float, typer.Option(help="About how long the narration runs (s).")] = 60.0,
    anchor: Annotated[AnchorChoice, typer.Option(help="Anchor intro (standfirst), outro, both or none.")] = (
        AnchorChoice.intro),
    condense: Annotated[bool, typer.Option(help="Let the draft model shorten paragraphs (numbers and names "
                                                "checked against the article).")] = False,
    portrait: Annotated[str | None, typer.Option(help="Object key of the anchor's portrait.")] = None,
    loudness: Annotated[LoudnessChoice, typer.Option(help="broadcast (-23 LUFS) or web (-16 LUFS).")] = (
        LoudnessChoice.broadcast),
    out: Annotated[Path | None, typer.Option(help="Copy the finished files into this folder.")] = None,
    translate_to: TranslateOption = None,
) -> None:
    """Turn an article and its pictures into a narrated video (flow 'article') and collect the files."""
    from flows.article import article as article_flow
    from newsroom.layout import ARTICLE_ROUTE
    from newsroom.storage import open_store

    check_article(source, list(image or []), language.value)
    store = open_store()
    with err.status(f"making a video of {source} (Prefect flow 'article')..."):
        story_id = run_flow(article_flow, source, images=list(image or []), language=language.value,
                             target_s=target_s, anchor=anchor.value, condense=condense, portrait_key=portrait or "",
                             loudness=loudness.value, translate_to=translate_to.value if translate_to else None)
    print_outputs(store, story_id)
    if out:
        copy_handouts(store, story_id, out, ARTICLE_ROUTE)


def bulletin_cmd(
    text: Annotated[str, typer.Argument(help="The bulletin's text, or a file holding it: items separated by lines "
                                             "of --- (or by blank lines).")],
    language: Annotated[LanguageChoice, typer.Option(help="The items' language.")] = LanguageChoice.auto,
    portrait: Annotated[str | None, typer.Option(help="Object key of the anchor's portrait.")] = None,
    loudness: Annotated[LoudnessChoice, typer.Option(help="broadcast (-23 LUFS) or web (-16 LUFS).")] = (
        LoudnessChoice.broadcast),
    out: Annotated[Path | None, typer.Option(help="Copy the finished files into this folder.")] = None,
    translate_to: TranslateOption = None,
) -> None:
    """Present text items as a bulletin read by the digital anchor (flow 'bulletin') and collect the files."""
    from flows.bulletin import bulletin as bulletin_flow
    from newsroom.bulletin import parse_items, split_items
    from newsroom.lang import detect
    from newsroom.layout import BULLETIN_ROUTE
    from newsroom.storage import open_store

    path = Path(text).expanduser()
    if len(text) < 4096 and path.is_file():
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            raise NewsroomError(f"{path} is not UTF-8 text: save the bulletin as UTF-8") from None
    items = split_items(text)
    code = detect(text).code if language.value == "auto" else language.value
    parse_items(items, code)  # refuse empty or oversized items before a Prefect server starts
    store = open_store()
    with err.status(f"presenting {len(items)} item(s) (Prefect flow 'bulletin')..."):
        story_id = run_flow(bulletin_flow, items, language=code, portrait_key=portrait or "", loudness=loudness.value,
                             translate_to=translate_to.value if translate_to else None)
    print_outputs(store, story_id)
    if out:
        copy_handouts(store, story_id, out, BULLETIN_ROUTE)


def check_article(source: str, images: list[str], language: str) -> None:
    """Refuse a bad local article or picture here, in a second, before a Prefect server starts: the article
    read with its limits, every local picture through the media gate."""
    from newsroom.article import gate_images, parse_article
    from newsroom.article.source import MAX_ARTICLE_BYTES, ArticleRefusedError

    path = Path(source).expanduser()
    if not path.is_file():
        return  # an object key: the flow reads it
    if path.stat().st_size > MAX_ARTICLE_BYTES:
        raise ArticleRefusedError(f"{path.name} is over the {MAX_ARTICLE_BYTES:,}-byte limit for an article")
    read = parse_article(path.read_bytes(), name=path.name, language=language)
    local = [path.parent / i.file for i in read.images[len(images):] if i.file]  # the article's own files
    missing = [str(p) for p in local if not p.is_file()]
    if missing:
        raise NewsroomError(f"image {missing[0]} does not exist: check the path (relative to the article)")
    local += [Path(i).expanduser() for i in images if Path(i).expanduser().is_file()]  # others may be object keys
    gate_images(local)
