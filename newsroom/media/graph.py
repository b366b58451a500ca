"""ffmpeg filter graphs built from parts, never pasted together from strings.

A filter option value passes two parsers before a filter sees it: the filter-graph parser (which splits
filters at `,` `;` and labels at `[` `]`) and then the filter's option parser (which splits options at
`:`). Both take `\\` escapes and `'` quotes and both drop leading and trailing whitespace. `Filter`
escapes every value for both levels, so a path such as `/tmp/it's [1], a;b: c ` or an expression such
as `between(t,1,2)` arrives exactly as written. `FilterGraph` joins filters into labelled chains and
checks the wiring as it is built: every label a chain makes is used exactly once.

A `Filter` is a `str` (its escaped text, e.g. `scale=1280:720`), so it goes straight into `-vf`, a log
line or a JSON record; a graph takes only `Filter`s, so no hand-built text can slip into one.
Why not a binding library (typed-ffmpeg): see the README's dependency table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePath

Value = str | int | float | bool | PurePath

_WHITESPACE = " \n\t\r"  # what ffmpeg's tokenizer (av_get_token) strips from both ends
_OPTION_SPECIALS = "\\':="  # the option parser: escape, quote, option separator, key separator
_GRAPH_SPECIALS = "\\'[],;"  # the graph parser: escape, quote, labels, filter and chain separators
_NAME_RE = re.compile(r"[a-z0-9_]+")
_KEY_RE = re.compile(r"[A-Za-z0-9_]+")
_LABEL_RE = re.compile(r"[A-Za-z0-9_]+")
_STREAM_RE = re.compile(r"\d+(:[vas](:\d+)?)?")  # an input's stream, e.g. 0:v or 1:a:0


def _escape(text: str, specials: str) -> str:
    """`text` with each of `specials` and its leading and trailing whitespace backslash-escaped."""
    chars = ["\\" + c if c in specials else c for c in text]
    lead, kept = len(text) - len(text.lstrip(_WHITESPACE)), len(text.rstrip(_WHITESPACE))
    for i in [*range(lead), *range(max(lead, kept), len(text))]:
        chars[i] = "\\" + chars[i]
    return "".join(chars)


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str | int | float | PurePath):
        return str(value)
    raise TypeError(f"a filter option value must be text, a number or a path, not {type(value).__name__}")


def escape_option(value: Value) -> str:
    """`value` escaped for a filter's option parser only (the inner level)."""
    return _escape(_text(value), _OPTION_SPECIALS)


def escape_value(value: Value) -> str:
    """`value` escaped for a filter option inside a filter graph (both levels)."""
    return _escape(escape_option(value), _GRAPH_SPECIALS)


class Filter(str):
    """One filter with its options, as the text a graph or `-vf` takes: `name=positional:key=value`.

    `Filter("scale", 1280, 720, flags="lanczos")` is `scale=1280:720:flags=lanczos`; options that are
    not Python names go in as `**{"1thr": 0.02}`. Booleans are written 1/0; format floats yourself when
    the precision matters (`f"{t:.3f}"`).
    """

    __slots__ = ()

    def __new__(cls, name: str, /, *args: Value, **options: Value) -> Filter:
        if not _NAME_RE.fullmatch(name):
            raise ValueError(f"{name!r} is not an ffmpeg filter name")
        for key in options:
            if not _KEY_RE.fullmatch(key):
                raise ValueError(f"{key!r} is not an option name of the {name} filter")
        parts = [escape_option(v) for v in args] + [f"{k}={escape_option(v)}" for k, v in options.items()]
        if not parts:
            return super().__new__(cls, name)
        return super().__new__(cls, f"{name}={_escape(':'.join(parts), _GRAPH_SPECIALS)}")

    @property
    def name(self) -> str:
        return self.split("=", 1)[0]


def _filters(filters: Filter | Sequence[Filter]) -> list[Filter]:
    items = [filters] if isinstance(filters, str) else list(filters)
    for item in items:
        if not isinstance(item, Filter):
            raise TypeError(f"{item!r} is not a Filter: build filters with newsroom.media.graph.Filter")
    return items


def chain(filters: Filter | Sequence[Filter], *, audio: bool = False) -> str:
    """Filters one after another, for `-vf`/`-af` (an empty chain passes the stream through unchanged)."""
    items = _filters(filters)
    return ",".join(items) if items else ("anull" if audio else "null")


class FilterGraph:
    """A `-filter_complex` graph: chains from labelled inputs to labelled outputs.

    An input is an input file's stream (`0:v`, `1:a:0`; usable many times) or a label an earlier chain
    made; each label is used exactly once, by a later chain or by `output` (for `-map`). Take the outputs
    before `text()`: it refuses a graph with an unused label, whose stream ffmpeg would silently send to
    the first output file.
    """

    def __init__(self) -> None:
        self._chains: list[str] = []
        self._open: dict[str, None] = {}  # labels made and not used yet, in order
        self._used: set[str] = set()

    def chain(self, inputs: str | Sequence[str], filters: Filter | Sequence[Filter],
              outputs: str | Sequence[str]) -> None:
        """`inputs` -> `filters` (one after another) -> `outputs` labels."""
        ins = [inputs] if isinstance(inputs, str) else list(inputs)
        outs = [outputs] if isinstance(outputs, str) else list(outputs)
        items = _filters(filters)
        if not items:
            raise ValueError("a chain needs at least one filter (null or anull to pass a stream through)")
        for label in outs:
            if not _LABEL_RE.fullmatch(label) or _STREAM_RE.fullmatch(label):
                raise ValueError(f"{label!r} cannot label a chain's output: use letters, digits and _")
            if label in self._open or label in self._used:
                raise ValueError(f"label [{label}] is made twice in the filter graph")
        for label in ins:
            self._use(label)
        self._open.update(dict.fromkeys(outs))
        self._chains.append("".join(f"[{x}]" for x in ins) + ",".join(items) + "".join(f"[{x}]" for x in outs))

    def output(self, label: str) -> str:
        """`[label]` for `-map`: the chain output that goes into an output file."""
        self._use(label)
        return f"[{label}]"

    def _use(self, label: str) -> None:
        if _STREAM_RE.fullmatch(label):
            return
        if label not in self._open:
            state = "is used twice" if label in self._used else "is not made by any chain"
            raise ValueError(f"label [{label}] {state} in the filter graph")
        del self._open[label]
        self._used.add(label)

    def text(self) -> str:
        """The graph for `-filter_complex`."""
        if self._open:
            raise ValueError(f"filter graph output(s) {', '.join(f'[{x}]' for x in self._open)} go nowhere: "
                             "map them or feed them to another chain")
        if not self._chains:
            raise ValueError("the filter graph is empty")
        return ";".join(self._chains)
