"""Article to video (图文转视频): a CMS article and its pictures become a narrated, subtitled, mastered video.

    article = parse_article(Path("story.md").read_bytes())        # Markdown + front matter, or JSON
    plan = plan_narration(article, target_s=60)                   # the article's sentences, trimmed whole
    narration = speak_narration(plan, load_voice(article.language), "narration.wav", workdir=tmp)
    shots = plan_shots(article, narration)                        # each paragraph's picture while it is read
    render_pictures(image_paths, shots, "pictures.mp4", size=(1280, 720), fps=25, duration_s=...)

The article flow (`flows/article.py`) adds the anchor intro/outro, subtitles from the voice's own timings,
lower-third captions, R128 mastering, covers, the 9:16 version and the OTIO/EDL timeline.
"""

from newsroom.article.kenburns import FADE_S, Motion, Plate, Rect, Shot, make_plate, plan_motion, render_track
from newsroom.article.narration import (
    Narration,
    NarrationPart,
    NarrationPlan,
    Span,
    condense,
    plan_narration,
    speak_narration,
    ungrounded,
)
from newsroom.article.source import (
    MAX_IMAGES,
    MAX_PARAGRAPHS,
    Article,
    ArticleError,
    ArticleImage,
    ArticleRefusedError,
    article_story_id,
    parse_article,
)
from newsroom.article.video import (
    PicturePlan,
    article_timeline,
    caption_thirds,
    gate_images,
    plan_shots,
    programme_transcript,
    render_pictures,
)

__all__ = [
    "FADE_S",
    "MAX_IMAGES",
    "MAX_PARAGRAPHS",
    "Article",
    "ArticleError",
    "ArticleImage",
    "ArticleRefusedError",
    "Motion",
    "Narration",
    "NarrationPart",
    "NarrationPlan",
    "PicturePlan",
    "Plate",
    "Rect",
    "Shot",
    "Span",
    "article_story_id",
    "article_timeline",
    "caption_thirds",
    "condense",
    "gate_images",
    "make_plate",
    "parse_article",
    "plan_motion",
    "plan_narration",
    "plan_shots",
    "programme_transcript",
    "render_pictures",
    "render_track",
    "speak_narration",
    "ungrounded",
]
