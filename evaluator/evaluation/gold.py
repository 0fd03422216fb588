"""Reviewer gold labels: one JSON file per document, ``<gold dir>/<doc_id>.json``.

Shape: ``{"doc_id", "kind", "labelled_by", "descriptors": {id: {"judgement", "pages", "quote",
"alt_quote"}}, "hallmarks": {id: {"level", "rationale"}}}``, with the rubric's descriptor ids and
the levels none < assuring < optimising < maximising.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evaluator.errors import EvaluatorError
from evaluator.types import HALLMARK_IDS, Level, Passage, Status

DOCUMENT_SUFFIXES: tuple[str, ...] = (".pdf", ".txt", ".md")


class _Gold(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GoldDescriptor(_Gold):
    judgement: Status
    pages: list[int] = Field(default_factory=list)  # 1-based PDF pages of the evidence
    quote: str = ""
    alt_quote: str = ""

    @field_validator("pages")
    @classmethod
    def _positive_pages(cls, value: list[int]) -> list[int]:
        if any(p < 1 for p in value):
            raise ValueError(f"pages are 1-based, got {value}")
        return value


class GoldHallmark(_Gold):
    level: Level
    rationale: str = ""


class GoldLabel(_Gold):
    doc_id: str
    kind: str = ""
    labelled_by: str = ""
    descriptors: dict[str, GoldDescriptor]
    hallmarks: dict[str, GoldHallmark]

    @field_validator("hallmarks")
    @classmethod
    def _known_hallmarks(cls, value: dict[str, GoldHallmark]) -> dict[str, GoldHallmark]:
        unknown = sorted(set(value) - set(HALLMARK_IDS))
        if unknown:
            raise ValueError(f"unknown hallmark ids {unknown}; valid: {list(HALLMARK_IDS)}")
        return value


def load_gold_file(path: Path) -> GoldLabel:
    """Read one gold file; a bad file raises a one-line ``EvaluatorError`` naming file and field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluatorError(f"{path}: cannot read gold file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise EvaluatorError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    try:
        label = GoldLabel.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(part) for part in err["loc"]) or "(top level)"
        raise EvaluatorError(f"{path}: field {field}: {err['msg']}") from None
    if label.doc_id != path.stem:
        raise EvaluatorError(
            f"{path}: field doc_id: {label.doc_id!r} does not match the file name {path.stem!r}"
        )
    return label


def load_gold(directory: str | os.PathLike) -> dict[str, GoldLabel]:
    """Every ``*.json`` gold file in ``directory``, keyed by doc_id (sorted)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise EvaluatorError(f"{directory}: gold label folder not found")
    return {label.doc_id: label for label in map(load_gold_file, sorted(directory.glob("*.json")))}


def find_document(docs_dir: str | os.PathLike, doc_id: str) -> Path | None:
    """The document for ``doc_id`` in ``docs_dir``: ``doc_id.pdf``, then ``.txt``, then ``.md``."""
    for suffix in DOCUMENT_SUFFIXES:
        candidate = Path(docs_dir) / f"{doc_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


# ------------------------------------------------------------ quotes -> passages

_WORD = re.compile(r"[a-z0-9]+")
QUOTE_OVERLAP = 0.5  # share of word trigrams a passage and a quote must share (either way round)


def relied_on(passages: Sequence[Passage], label: GoldLabel) -> dict[str, list[int]]:
    """The passages the reviewers' quotes point at: descriptor id -> passage indices, for every credited
    (met or partial) descriptor whose quote or alternative quote is found in the passages.

    Quotes are matched on word trigrams, not character for character: reviewers trim, re-join
    hyphenated lines and fix spacing when they copy a quote. A passage is relied on when at least half
    the quote's trigrams are in it (a long quote spans several passages) or half its own are in the
    quote (a short passage inside a long quote), and the pages agree where the label gives pages."""
    grams = [_trigrams(p.text) for p in passages]
    out: dict[str, list[int]] = {}
    for descriptor_id, gold in label.descriptors.items():
        if gold.judgement == "not_met":
            continue
        quotes = [q for q in (_trigrams(gold.quote), _trigrams(gold.alt_quote)) if q]
        hits = [
            i
            for i, (p, g) in enumerate(zip(passages, grams, strict=True))
            if g
            and (not gold.pages or p.page is None or p.page in gold.pages)
            and any(_overlaps(g, q) for q in quotes)
        ]
        if hits:
            out[descriptor_id] = hits
    return out


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    if len(words) < 3:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def _overlaps(passage: set[tuple[str, ...]], quote: set[tuple[str, ...]]) -> bool:
    shared = len(passage & quote)
    return shared >= 2 and (shared >= QUOTE_OVERLAP * len(quote) or shared >= QUOTE_OVERLAP * len(passage))
