"""The data contract: every type that flows between the pipeline stages.

PDF/text --extract--> Document --segment--> [Passage] --match/judge--> Assessment

Everything that crosses a module boundary, is written to disk or read back by
another tool is one of these pydantic models. ``Assessment`` is the JSON
contract other tools read (see docs/guide.md); bump ``SCHEMA_VERSION`` when its shape
changes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = "1.3"
# 1.1: provenance names the rubric hash, segmenter, matcher, ranker and judge settings
# 1.2: area assessments: ``documents`` (the source documents of an area) and ``evidence[].document``
# 1.3: evidence[].kind, descriptor `searched` (what was looked for when not met), assessment `targets`,
#      provenance `kinds` and `embedder` (the code that turned passages into vectors); all default, so
#      1.0-1.2 assessments still load

Level = Literal["none", "assuring", "optimising", "maximising"]
RubricLevel = Literal["assuring", "optimising", "maximising"]
Status = Literal["met", "partial", "not_met"]
# What a passage is (evaluator.stages.kinds): the topic named, an undertaking to act, a measurable aim,
# a measured figure, or how the document was made. "" = not classified (assessments before schema 1.3).
Kind = Literal["mention", "commitment", "target", "data", "method"]
KINDS: tuple[str, ...] = ("mention", "commitment", "target", "data", "method")

LEVELS: tuple[str, ...] = ("none", "assuring", "optimising", "maximising")
RUBRIC_LEVELS: tuple[RubricLevel, ...] = ("assuring", "optimising", "maximising")
STATUSES: tuple[str, ...] = ("not_met", "partial", "met")
HALLMARK_IDS: tuple[str, ...] = ("1", "2", "3a", "3b", "4", "5", "6")

# (x0, top, x1, bottom) in PDF points, origin top-left, as pdfplumber reports them.
BBox = tuple[float, float, float, float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


# --------------------------------------------------------------------- document


class Line(_Model):
    """One line of text on a page, in reading order."""

    text: str
    bbox: BBox


class Block(_Model):
    """A paragraph-like group of lines (or one table row), in reading order."""

    kind: Literal["text", "heading", "table_row"] = "text"
    lines: list[Line]

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)

    @property
    def bbox(self) -> BBox:
        return union_boxes([line.bbox for line in self.lines])


class Page(_Model):
    number: int | None = Field(default=None, ge=1)  # 1-based; None for text inputs
    width: float = 0.0
    height: float = 0.0
    blocks: list[Block] = Field(default_factory=list)
    image_only: bool = False  # the page has no text layer (scanned)
    garbled: bool = False  # the text layer is mostly replacement characters

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)


class Document(_Model):
    path: str
    sha256: str
    kind: Literal["pdf", "text"]
    pages: list[Page]
    warnings: list[str] = Field(default_factory=list)
    title: str = ""  # PDF metadata title, else the largest text on the first page, else the first heading

    @property
    def page_count(self) -> int:
        return len(self.pages)


class Passage(_Model):
    """A window of sentences inside one block: the unit that is cited as evidence."""

    id: str  # "p{page position, 1-based}-b{block index on the page}-s{window index in the block}"
    page: int | None = Field(default=None, ge=1)
    text: str  # exact text, as it appears on the page (whitespace normalised)
    boxes: list[BBox] = Field(default_factory=list)  # the lines it spans
    headings: list[str] = Field(default_factory=list)  # section heading path, outermost first
    block_kind: Literal["text", "heading", "table_row"] = "text"

    @property
    def bbox(self) -> BBox | None:
        return union_boxes(self.boxes) if self.boxes else None


# ----------------------------------------------------------------------- rubric


class Descriptor(_Model):
    id: str  # e.g. "3a.A.2"
    hallmark: str
    level: RubricLevel
    text: str  # the model's wording, verbatim from rubric-descriptors.tsv
    queries: list[str] = Field(default_factory=list)  # plain-English phrasings a strategy might use
    cues: list[str] = Field(default_factory=list)  # lexical cues (case-insensitive phrases)
    requires_wellbeing: bool = True  # evidence must be framed as wellbeing, not health alone
    # regular expressions (case-insensitive) for a statement that plainly does what the descriptor says,
    # e.g. a definition of wellbeing for "wellbeing defined as distinct from health": a passage that
    # matches one makes the descriptor met and is cited first (stages/judge.py, credit_explicit)
    met_when: list[str] = Field(default_factory=list)


class Hallmark(_Model):
    id: str
    title: str
    descriptors: list[Descriptor]

    def at_level(self, level: str) -> list[Descriptor]:
        return [d for d in self.descriptors if d.level == level]


class Rubric(_Model):
    id: str
    version: str
    title: str
    source: str = ""
    hallmarks: list[Hallmark]

    @property
    def descriptors(self) -> list[Descriptor]:
        return [d for h in self.hallmarks for d in h.descriptors]

    def hallmark(self, hallmark_id: str) -> Hallmark:
        for h in self.hallmarks:
            if h.id == hallmark_id:
                return h
        raise KeyError(hallmark_id)

    def descriptor(self, descriptor_id: str) -> Descriptor:
        for d in self.descriptors:
            if d.id == descriptor_id:
                return d
        raise KeyError(descriptor_id)


# ------------------------------------------------------------------- assessment


class Evidence(_Model):
    page: int | None = Field(default=None, ge=1)
    text: str
    bbox: BBox | None = None
    score: float = Field(ge=0.0, le=1.0)
    passage_id: str = ""  # in an area: "<document id>/<passage id>"
    headings: list[str] = Field(default_factory=list)
    kind: Kind | Literal[""] = ""  # since schema 1.3; "" in older assessments
    document: str = ""  # in an area: the id of the source document (see Assessment.documents); else ""


class Closest(_Model):
    """A passage the search came closest with for a descriptor judged not met: NOT evidence."""

    page: int | None = Field(default=None, ge=1)
    text: str
    score: float = Field(ge=0.0, le=1.0)
    passage_id: str = ""


class Searched(_Model):
    """What was looked for when a descriptor is judged not met, so a reviewer can trust (or not) the "not found"."""

    queries: list[str] = Field(default_factory=list)  # the descriptor's wording and its plain-English queries
    cues: list[str] = Field(default_factory=list)  # the lexical cues (case-insensitive phrases)
    cues_found: list[str] = Field(default_factory=list)  # cues that occur somewhere in the document
    passages_considered: int = Field(default=0, ge=0)  # passages long enough (and framed, where required)
    passages_total: int = Field(default=0, ge=0)  # every passage of the document
    closest: list[Closest] = Field(default_factory=list)  # best candidates, not evidence


class DescriptorResult(_Model):
    id: str
    status: Status
    probability: float = Field(ge=0.0, le=1.0)  # probability the descriptor is met-or-partial
    evidence: list[Evidence] = Field(default_factory=list)
    searched: Searched | None = None  # since schema 1.3: set when status is not_met


Direction = Literal["increase", "reduce", "reach", ""]


class Target(_Model):
    """A measurable aim the document sets: an indicator with a number, a direction and a date where found."""

    page: int | None = Field(default=None, ge=1)
    text: str  # the exact passage text
    bbox: BBox | None = None
    passage_id: str = ""
    headings: list[str] = Field(default_factory=list)
    indicator: str = ""
    number: str = ""  # as written: "7.7", "below 20%", "two years"
    direction: Direction = ""
    date: str = ""  # as written: "2035", "March 2025"
    document: str = ""  # in an area: the id of the source document whose page this is; else ""


class HallmarkResult(_Model):
    id: str
    level: Level
    confidence: float = Field(ge=0.0, le=1.0)
    needs_review: bool
    descriptors: list[DescriptorResult]


class DocumentInfo(_Model):
    path: str
    sha256: str
    pages: int = Field(ge=0)
    title: str = ""


class SourceDocument(_Model):
    """One document of an area assessment (since schema 1.2). ``error`` is set, and ``pages`` is 0, when
    the document could not be read: the area is then assessed on the others."""

    id: str  # unique within the area: the manifest doc_id, else the file name without its suffix
    path: str
    sha256: str = ""
    pages: int = Field(default=0, ge=0)
    title: str = ""
    role: str = ""  # what the document is for the board, if given: strategy, jsna, consultation...
    error: str = ""  # why it could not be assessed ("" when it was)


class Provenance(_Model):
    tool_version: str
    rubric_id: str
    rubric_version: str
    model_name: str
    model_hash: str
    model_precision: str = "float32"  # arithmetic of the embedding model: float32 or bfloat16
    extractor: str
    judge: str  # the judging model's id/version
    judge_settings: str = ""  # evaluator.stages.judge.settings_version: level threshold, review confidence
    ranker: str = ""  # the evidence ranker's version ("" when evidence was ranked by similarity)
    created_at: str  # ISO 8601, UTC
    # Since schema 1.1; empty in assessments made before (they still load).
    rubric_hash: str = ""  # evaluator.rubric.rubric_hash: any edit to the rubric, even to a cue, changes it
    segmenter: str = ""  # SEGMENTER_VERSION
    matcher: str = ""  # MATCHER_VERSION
    kinds: str = ""  # KINDS_VERSION (since schema 1.3)
    embedder: str = ""  # since schema 1.3: EMBEDDER_VERSION, the code that embedded the passages


class Assessment(_Model):
    schema_version: str = SCHEMA_VERSION
    document: DocumentInfo
    provenance: Provenance
    hallmarks: list[HallmarkResult]
    warnings: list[str] = Field(default_factory=list)
    # Since schema 1.2: an area (several documents assessed as one policy) lists its documents here, and
    # ``document`` then describes the area (title: the area's name; pages: the total; sha256: of the set).
    documents: list[SourceDocument] = Field(default_factory=list)
    targets: list[Target] = Field(
        default_factory=list
    )  # since schema 1.3: every passage classified as a target

    @field_validator("hallmarks")
    @classmethod
    def _unique_hallmarks(cls, value: list[HallmarkResult]) -> list[HallmarkResult]:
        ids = [h.id for h in value]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate hallmark ids: {ids}")
        return value

    def hallmark(self, hallmark_id: str) -> HallmarkResult:
        for h in self.hallmarks:
            if h.id == hallmark_id:
                return h
        raise KeyError(hallmark_id)

    def descriptor_results(self) -> dict[str, DescriptorResult]:
        return {d.id: d for h in self.hallmarks for d in h.descriptors}

    @property
    def is_area(self) -> bool:
        return bool(self.documents)


def union_boxes(boxes: list[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
