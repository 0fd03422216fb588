"""Area assessment: a board's documents (strategy, JSNA, outcomes framework...) assessed as one policy.

The maturity model rates a board's policy making, which is spread over several documents: evidence of
need (3a) is usually in the JSNA, measures (5) in an outcomes framework. An area is assessed on the
pipeline's analyse/judge split:

1. each document is analysed on its own (extracted, segmented, embedded; cached like any document), and
   judged on its own too: the per-document assessments stay available;
2. their passages and vectors are put end to end, each passage id qualified by its document
   (``"<doc id>/<passage id>"``) and its page moved past the pages of the documents before it, so that
   what the matcher counts per page (one citation per page, pages with a cue term, the ranker's
   same-page features) never mixes two documents' pages;
3. the set is matched and judged once, so every descriptor draws its evidence from any document, and
   each citation is given back its document id and its real page.

What the page shift does not undo: the ranker's "position" and "front matter" features see the set as
one long document, so a later document's first pages are not treated as front matter.

A document that cannot be read is listed in ``Assessment.documents`` with its ``error`` and in the
warnings; the others are assessed. Only when none can be read is the area an ``InputError``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evaluator.errors import EvaluatorError, InputError
from evaluator.pipeline import Analysis, Pipeline
from evaluator.stages.kinds import DocumentKinds
from evaluator.stages.match import match
from evaluator.types import Assessment, DocumentInfo, Kind, Passage, SourceDocument


@dataclass(frozen=True)
class AreaMember:
    """One document of an area: its file, an id unique in the area (default: the file name without its
    suffix) and optionally its role for the board."""

    path: Path
    id: str = ""
    role: str = ""
    error: str = ""  # already known not to be readable (e.g. it failed in the same screen): not read again


@dataclass
class AreaResult:
    assessment: Assessment  # the area as one assessment
    documents: dict[str, Assessment] = field(default_factory=dict)  # each readable document on its own


def members_from_paths(
    paths: Sequence[str | os.PathLike], roles: dict[str, str] | None = None
) -> list[AreaMember]:
    """Members with ids from the file names (``strategy``, ``strategy-2`` when two files share a name);
    ``roles`` maps a file name, file stem or id to a role."""
    roles = roles or {}
    used: set[str] = set()
    members = []
    for raw in paths:
        path = Path(raw)
        base = _slug(path.stem) or "document"
        doc_id, n = base, 1
        while doc_id in used:
            n += 1
            doc_id = f"{base}-{n}"
        used.add(doc_id)
        role = roles.get(path.name) or roles.get(path.stem) or roles.get(doc_id) or ""
        members.append(AreaMember(path=path, id=doc_id, role=role))
    return members


def parse_roles(values: Sequence[str]) -> dict[str, str]:
    """``["ws-jsna-summary-2018=jsna", ...]`` -> ``{"ws-jsna-summary-2018": "jsna"}``; an InputError
    names a value without ``=``."""
    roles = {}
    for value in values:
        name, sep, role = value.partition("=")
        if not sep or not name.strip() or not role.strip():
            raise InputError(f"--role {value!r} is not DOCUMENT=ROLE; e.g. --role ws-jsna-summary-2018=jsna.")
        roles[name.strip()] = role.strip()
    return roles


def area_sha256(name: str, documents: Sequence[SourceDocument]) -> str:
    """Identifies the area: its name and its documents' ids and file hashes (order does not matter)."""
    lines = sorted(f"{d.id}\t{d.sha256 or d.path}" for d in documents)
    return hashlib.sha256("\n".join(["area", name, *lines]).encode()).hexdigest()


def assess_area(members: Sequence[AreaMember], name: str, pipeline: Pipeline) -> AreaResult:
    """One assessment for the set of documents (see the module's docstring), and each on its own."""
    if not name.strip():
        raise InputError('An area needs a name: --area "West Sussex HWB 2019".')
    if not members:
        raise InputError(f"The area {name} has no documents; give at least one file.")
    ids = [m.id or _slug(m.path.stem) for m in members]
    if len(set(ids)) != len(ids):
        raise InputError(f"The area {name} lists a document id twice: {', '.join(sorted(ids))}.")
    sources: list[SourceDocument] = []
    analyses: dict[str, Analysis] = {}
    for member, doc_id in zip(members, ids, strict=True):
        if member.error:
            sources.append(
                SourceDocument(id=doc_id, path=str(member.path), role=member.role, error=member.error)
            )
            continue
        try:
            analysis = pipeline.analyse(member.path)
        except EvaluatorError as exc:
            sources.append(SourceDocument(id=doc_id, path=str(member.path), role=member.role, error=str(exc)))
            continue
        document = analysis.document
        analyses[doc_id] = analysis
        sources.append(
            SourceDocument(
                id=doc_id,
                path=document.path,
                sha256=document.sha256,
                pages=document.page_count,
                title=document.title or member.path.stem,
                role=member.role,
            )
        )
    if not analyses:
        reasons = "; ".join(s.error for s in sources)
        raise InputError(f"None of the {len(sources)} documents of {name} could be read: {reasons}")
    documents = {doc_id: pipeline.judge_analysis(a) for doc_id, a in analyses.items()}
    assessment = judge_area(name, sources, analyses, pipeline)
    assessment.targets = [
        t.model_copy(update={"document": doc_id}) for doc_id, a in documents.items() for t in a.targets
    ]
    return AreaResult(assessment=assessment, documents=documents)


def judge_area(
    name: str, sources: list[SourceDocument], analyses: dict[str, Analysis], pipeline: Pipeline
) -> Assessment:
    """Match and judge the readable documents' passages as one set; cite each passage's own document."""
    passages: list[Passage] = []
    vectors: list[np.ndarray] = []
    coverage: list[np.ndarray] = []
    origin: dict[str, tuple[str, int | None]] = {}  # qualified passage id -> (document id, real page)
    offset = 0
    for doc_id, analysis in analyses.items():
        for p in analysis.passages:
            qualified = f"{doc_id}/{p.id}"
            origin[qualified] = (doc_id, p.page)
            passages.append(p.model_copy(update={"id": qualified, "page": (p.page or 1) + offset}))
        vectors.append(analysis.vectors)
        coverage.append(
            analysis.coverage
            if analysis.coverage is not None
            else np.zeros((len(analysis.passages), len(pipeline.index.descriptors)), dtype=np.float32)
        )
        offset += max(analysis.document.page_count, 1)
    matrix = np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
    covered = np.vstack(coverage) if coverage else None
    matches = match(passages, matrix, pipeline.index, pipeline.ranker, coverage=covered)
    # each cited passage's kind is read in its own document (its table header and lead-in, never another
    # document's), and from that document's cache entry when it was cited before
    kinds = {d: DocumentKinds(a.passages, a.document.sha256, pipeline.cache) for d, a in analyses.items()}
    owner = [(d, i) for d, a in analyses.items() for i in range(len(a.passages))]

    def kinds_of(which: Iterable[int]) -> dict[int, Kind]:
        by_document: dict[str, dict[int, int]] = {}  # document id -> {its passage index: area index}
        for i in which:
            doc_id, local = owner[i]
            by_document.setdefault(doc_id, {})[local] = i
        return {
            chosen[local]: kind
            for doc_id, chosen in by_document.items()
            for local, kind in kinds[doc_id].of(chosen).items()
        }

    hallmarks = pipeline.judge_matches(matches, passages, kinds_of)
    for document_kinds in kinds.values():
        document_kinds.save()
    for hallmark in hallmarks:
        for descriptor in hallmark.descriptors:
            for evidence in descriptor.evidence:
                evidence.document, evidence.page = origin[evidence.passage_id]
    warnings = [f"{doc_id}: {w}" for doc_id, a in analyses.items() for w in a.document.warnings]
    warnings += [f"{s.id} was not assessed: {s.error}" for s in sources if s.error]
    return Assessment(
        document=DocumentInfo(
            path=name,
            sha256=area_sha256(name, sources),
            pages=sum(s.pages for s in sources),
            title=name,
        ),
        provenance=pipeline.provenance(),
        hallmarks=hallmarks,
        warnings=warnings,
        documents=sources,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")
