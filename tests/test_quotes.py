"""Quotes are taken, not written: numbered sentences, attribution rules (English and Mandarin), quotes taken by
sentence id with their speaker, on hand-built and real transcripts (Whisper base on the packaged voices)."""

from __future__ import annotations

import json

import pytest

from newsroom import lang
from newsroom.config import Settings
from newsroom.llm import Draft, Quote
from newsroom.llm.attribution import (
    Attribution,
    full_name,
    introduced,
    leads,
    reported,
    self_named,
    speaker_names,
)
from newsroom.llm.quotes import compact, verify_quotes
from newsroom.llm.schema import QuoteSelection
from newsroom.llm.sentences import number_sentences, turns
from newsroom.types import Segment, Transcript, Word
from tests.conftest import REPO
from tests.test_llm import EN_STORY, QUOTE, build_transcript

EN = lang.profile("en").attribution
ZH = lang.profile("zh").attribution
SPEAKERS = REPO / "tests" / "data" / "speakers"


def turn_transcript(turns_: list[tuple[str, str]], language: str = "en") -> Transcript:
    """One segment per (speaker, text), words as build_transcript makes them, with the segment's speaker."""
    built = build_transcript([text for _, text in turns_], language)
    segments = tuple(Segment(s.start, s.end, s.text, tuple(Word(w.start, w.end, w.word, w.probability, who)
                                                                for w in s.words), who)
                     for s, (who, _) in zip(built.segments, turns_, strict=True))
    return Transcript(language, built.duration_s, "hand-built", segments)


# --------------------------------------------------------------------------- attribution rules (pure)


def test_english_reported_speech_gives_the_words_said_and_who_said_them():
    text = f"{QUOTE}, said council member Maria Lopez."
    found = reported(text, EN)
    assert found is not None and found.name == "Maria Lopez" and text[found.first:found.last] == QUOTE
    # As Whisper writes it on the bundled sample: the closing quotation mark, no opening one.
    text = 'We want every child to be able to ride to school safely," said Council Member Maria Lopez.'
    found = reported(text, EN)
    assert found.name == "Council Member Maria Lopez" and text[found.first:found.last] == QUOTE
    found = reported("The bridge will close for two weeks, police chief Mark Evans said.", EN)
    assert found.name == "Mark Evans"
    found = reported("According to fire chief Tom Baker, the fire started in the kitchen.", EN)
    assert found.name == "Tom Baker"
    assert "the fire started" in "According to fire chief Tom Baker, the fire started in the kitchen."[found.first:]
    # Indirect speech, pronouns and unnamed sources quote nobody.
    assert reported("The bus company says it will add extra buses every morning.", EN) is None
    assert reported("That is a relief, she said.", EN) is None
    assert reported("Lopez said the lanes would be reviewed after one year.", EN) is None


def test_english_introductions_and_self_naming():
    assert introduced("Good evening, joining us tonight is Sam Reed, who runs the City Water Board.", EN) == "Sam Reed"
    assert introduced("Here is what Mayor Ana Lopez said.", EN) == "Mayor Ana Lopez"
    assert introduced("We spoke to Doctor Amy Chen this morning.", EN) == "Doctor Amy Chen"
    assert introduced("Tonight I am joined by the head of the city's new cycling programme.", EN) is None  # no name
    assert self_named("Hello, my name is Sam Reed and I run the water board.", EN) == "Sam Reed"
    assert self_named("I'm glad you asked.", EN) is None
    assert leads("Police chief Mark Evans said:", EN) == "Mark Evans"


def test_mandarin_attribution_rules():
    found = reported("王明表示，所有学校都会按时开学。", ZH)
    assert found.name == "王明" and "王明表示，所有学校都会按时开学。"[found.first:found.last] == "所有学校都会按时开学。"
    assert reported("厅长王明在发布会上说，今年将新建一百所学校。", ZH).name == "厅长王明"
    assert reported("市政府今天宣布，将在明年增加公共交通投资。", ZH).name == "市政府"  # a time is no part of a name
    assert reported("王明昨天下午在发布会上表示，学校会按时开学。", ZH).name == "王明"
    assert reported("据市气象台首席预报员张伟介绍，这次降雪将持续到周五。", ZH).name == "市气象台首席预报员张伟"
    assert reported("这次降雪将持续到周五，张伟说。", ZH).name == "张伟"
    # No comma after the verb: indirect speech, nobody quoted. A pronoun is no name.
    assert reported("公交公司说早上会增加班次。", ZH) is None
    assert reported("他表示，学校会按时开学。", ZH) is None
    assert introduced("今天我们请到了市交通局局长李华。", ZH) == "市交通局局长李华"
    assert introduced("下面请王明厅长介绍具体情况。", ZH) == "王明厅长"
    assert self_named("大家好，我是李华。", ZH) == "李华"
    # A role is no name: the person stays unnamed (the transcript never says who).
    assert introduced("今天我们请到了市交通局的负责人。", ZH) is None
    assert reported("新闻发言人表示，学校会按时开学。", ZH) is None
    assert reported("市交通局表示，全市公交车将正常运行。", ZH).name == "市交通局"
    assert leads("据张伟介绍，", ZH) == "张伟" and leads("这次降雪将持续到周五，", ZH) is None


def test_names_map_onto_speaker_turns_and_are_never_guessed():
    transcript = turn_transcript([
        ("S1", "Good evening. Joining us tonight is Sam Reed, who runs the City Water Board."),
        ("S2", "The water in every district is safe to drink."),
        ("S1", "What happens next?"),
        ("S2", "We will replace the oldest pipes by the end of next year."),
        ("S3", "I think the pipes should have been replaced years ago."),
    ])
    sentences = number_sentences(transcript)
    assert speaker_names(sentences, EN) == {"S2": "Sam Reed"}  # S3 is never introduced: unnamed
    attribution = Attribution.of(sentences, "en")
    assert attribution.narrators == {"S1"}
    quotes = [attribution.take(s.id, s.id) for s in sentences]
    assert [(q.text, q.speaker) for q in quotes if q] == [
        ("The water in every district is safe to drink.", "Sam Reed"),
        ("We will replace the oldest pipes by the end of next year.", "Sam Reed"),
        ("I think the pipes should have been replaced years ago.", None),
    ]
    # Named two different ways: left unnamed.
    twice = turn_transcript([("S1", "Joining us is Sam Reed."), ("S2", "Thank you, it is good to be here."),
                             ("S1", "And joining us now is Ana Lopez."), ("S2", "The water is safe to drink.")])
    assert speaker_names(number_sentences(twice), EN) == {}
    assert full_name("Lopez", ["Mayor Ana Lopez", "Sam Reed"]) == "Mayor Ana Lopez"


# --------------------------------------------------------------------------- sentences and taking quotes


def test_sentences_are_numbered_with_times_speakers_and_verbatim_text(en):
    sentences = number_sentences(en)
    assert [s.id for s in sentences] == [1, 2, 3, 4, 5]
    assert [s.text for s in sentences] == EN_STORY
    assert all(a.end_s <= b.start_s for a, b in zip(sentences, sentences[1:], strict=False))
    assert sentences[0].start_s == en.segments[0].start and sentences[-1].end_s == en.segments[-1].words[-1].end
    # A segment cut mid-sentence by time joins the next; one with two sentences splits; "Dr." ends none.
    transcript = build_transcript(["Dr. Reed said the water", "is safe. We tested it twice."])
    assert [s.text for s in number_sentences(transcript)] == ["Dr. Reed said the water is safe.", "We tested it twice."]


def test_a_mandarin_run_on_is_cut_at_clauses_and_a_lead_gives_the_next_clause_its_speaker():
    transcript = build_transcript(["本台消息，昨天下午全市迎来今年第一场大雪，据市气象台首席预报员张伟介绍，这次降雪将持续到周五，请市民注意出行安全。"],
                                  "zh")
    sentences = number_sentences(transcript)
    assert [s.text for s in sentences] == ["本台消息，昨天下午全市迎来今年第一场大雪，", "据市气象台首席预报员张伟介绍，",
                                           "这次降雪将持续到周五，请市民注意出行安全。"]
    quote = Attribution.of(sentences, "zh").take(3, 3)
    assert quote.text == "这次降雪将持续到周五，请市民注意出行安全。" and quote.speaker == "市气象台首席预报员张伟"
    assert verify_quotes([quote], transcript)[0] == [quote]


def test_taking_a_span_keeps_one_speaker_and_its_quotable_sentences():
    transcript = turn_transcript([("S1", "Joining us is Sam Reed."),
                                  ("S2", "Thank you for having me. The water is safe. We tested two thousand samples."),
                                  ("S1", "Is it safe for babies?"), ("S2", "Yes, it is safe for everyone in the city.")])
    attribution = Attribution.of(number_sentences(transcript), "en")
    quote = attribution.take(1, 5)  # from the host's introduction over the guest's thanks: trimmed to the guest's words
    assert quote.text == "The water is safe. We tested two thousand samples."
    assert quote.speaker == "Sam Reed" and quote.sentences == (3, 4)
    assert verify_quotes([quote], transcript)[0] == [quote]
    assert attribution.take(5, 5) is None  # a question
    assert attribution.take(99, 99) is None


def test_quote_round_trips_and_old_drafts_load():
    quote = Quote("The water is safe.", "Sam Reed", 1.0, 2.5, (3,))
    assert Quote.from_dict(json.loads(json.dumps(quote.to_dict()))) == quote
    old = {"text": "The water is safe.", "speaker": None, "start_s": 1, "end_s": 2.5}
    assert Quote.from_dict(old) == Quote("The water is safe.", None, 1.0, 2.5, ())
    draft = {"headline": "h", "lede": "l", "body": "b", "summary": "s", "keywords": ["k"], "anchor_script": "a",
             "quotes": [old], "dropped_quotes": [], "model": "m", "language": "en"}
    assert Draft.from_dict(draft).quotes[0].sentences == ()


def test_the_model_may_answer_ids_loosely():
    answer = QuoteSelection.model_validate({"quotes": [3, [5, 6], {"first": 8}, {"ids": [9, 10]}, {"first": 2, "last": 2}]})
    assert [(p.first, p.last) for p in answer.quotes] == [(3, 3), (5, 6), (8, 8), (9, 10), (2, 2)]


@pytest.fixture(scope="module")
def en() -> Transcript:
    return build_transcript(EN_STORY)


# --------------------------------------------------------------------------- real transcripts


@pytest.fixture(scope="module")
def dialogues(tmp_path_factory):
    """The two-voice dialogues of tests/data/speakers through the real ASR (speaker turns on)."""
    from newsroom.asr import Transcriber
    from newsroom.media import extract_audio

    folder = tmp_path_factory.mktemp("quotes")
    transcriber = Transcriber.load("base", Settings(), diarize=True)
    return {name: transcriber.transcribe(extract_audio(SPEAKERS / f"{name}.ogg", folder / f"{name}.wav"), name[:2])
            for name in ("en_dialogue", "zh_dialogue")}


@pytest.mark.parametrize("name", ["en_dialogue", "zh_dialogue"])
def test_real_transcript_sentences_follow_the_turns(dialogues, name):
    truth = json.loads((SPEAKERS / "dialogues.json").read_text("utf-8"))[name]["turns"]
    transcript = dialogues[name]
    sentences = number_sentences(transcript)
    stream = compact(transcript.text)
    assert [s.id for s in sentences] == list(range(1, len(sentences) + 1))
    assert all(compact(s.text) in stream and s.start_s < s.end_s for s in sentences)
    assert compact("".join(s.text for s in sentences)) == stream  # every word, once, in order
    # One turn of sentences per spoken turn (7 in each dialogue), each with the truth's speaker.
    runs = turns(sentences)
    assert len(runs) == len(truth)
    for run, turn in zip(runs, truth, strict=True):
        assert run[0].speaker == turn["speaker"]
        assert abs(run[0].start_s - turn["start"]) < 1.0  # Whisper starts words up to ~0.7 s early
    # No turn is named in these dialogues ("the head of the city's new cycling programme"): every quote unnamed.
    attribution = Attribution.of(sentences, transcript.language)
    assert attribution.names == {}
    assert all(q.speaker is None for s in sentences if (q := attribution.take(s.id, s.id)))


@pytest.mark.slow
def test_real_model_takes_verbatim_quotes_with_the_right_speaker(tmp_path):
    """Two voices read an interview (piper joe introduces Sam Reed, Kokoro jf_alpha answers), Whisper base
    transcribes it with speaker turns, the packaged 1.5B model picks the quotes: each is verbatim, at its
    time, and said by Sam Reed (about 2 minutes on two cores)."""
    from bench.draft_quality import DATA, transcripts
    from newsroom.llm import load_backend
    from newsroom.llm.selection import select_quotes

    item = json.loads(DATA.read_text("utf-8"))["en_interview"]
    transcript = transcripts({"en_interview": item}, tmp_path)["en_interview"]
    quotes, notes, prompt_id = select_quotes(transcript, load_backend(Settings(llm_context_tokens=4096)), seed=42,
                                             attempts=2)
    assert prompt_id == "quotes.v1.en" and not notes
    assert len(quotes) >= 2
    kept, dropped = verify_quotes(quotes, transcript)
    assert kept == quotes and not dropped
    words = [w for s in transcript.segments for w in s.words]
    for quote in quotes:
        said = [w for w in words if quote.start_s <= w.start and w.end <= quote.end_s]
        assert compact("".join(w.word for w in said)) == compact(quote.text)
        assert {w.speaker for w in said} == {"S2"} and quote.speaker == "Sam Reed"
