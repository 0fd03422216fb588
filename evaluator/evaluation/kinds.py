"""Agreement of the evidence-kind classifier with passages labelled by hand (tests/expectations/kinds.tsv).

Each labelled passage is found again in its document (same page, exact text, as the segmenter cuts it)
and classified in its document's context (table header, list lead-in, headings), the way the pipeline
classifies it. Precision and recall per kind, accuracy, and target recall are reported.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.errors import EvaluatorError
from evaluator.stages.cache import Cache, read_document
from evaluator.stages.kinds import classify_passages
from evaluator.stages.segment import segment
from evaluator.types import KINDS, Passage


@dataclass(frozen=True)
class KindLabel:
    doc: str
    page: int | None
    kind: str
    text: str


@dataclass
class KindReport:
    n: int = 0
    correct: int = 0
    not_found: list[KindLabel] = field(default_factory=list)  # labelled passages the segmenter no longer cuts
    confusion: Counter = field(default_factory=Counter)  # (gold, predicted) -> count
    errors: list[tuple[KindLabel, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    def precision(self, kind: str) -> float | None:
        predicted = sum(c for (_, p), c in self.confusion.items() if p == kind)
        return self.confusion[(kind, kind)] / predicted if predicted else None

    def recall(self, kind: str) -> float | None:
        gold = sum(c for (g, _), c in self.confusion.items() if g == kind)
        return self.confusion[(kind, kind)] / gold if gold else None

    def support(self, kind: str) -> int:
        return sum(c for (g, _), c in self.confusion.items() if g == kind)

    def markdown(self) -> str:
        lines = [
            f"Evidence kinds: accuracy **{self.accuracy:.2f}** on {self.n} passages labelled by hand"
            + (
                f" ({len(self.not_found)} labelled passages not found in their documents)"
                if self.not_found
                else ""
            ),
            "",
            "| Kind | Precision | Recall | Labelled |",
            "|---|---:|---:|---:|",
        ]
        for kind in KINDS:
            p, r = self.precision(kind), self.recall(kind)
            lines.append(f"| {kind} | {_f(p)} | {_f(r)} | {self.support(kind)} |")
        return "\n".join(lines) + "\n"


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def default_labels_path() -> Path:
    return Path(__file__).resolve().parents[2] / "tests" / "expectations" / "kinds.tsv"


def load_labels(path: str | Path) -> list[KindLabel]:
    path = Path(path)
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    except OSError as exc:
        raise EvaluatorError(f"Cannot read kind labels {path}: {exc.strerror}.") from None
    labels = []
    for n, row in enumerate(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE), start=2):
        if row.get("kind") not in KINDS or not row.get("text") or not row.get("doc"):
            raise EvaluatorError(
                f"{path}: row {n} needs doc, page, kind (one of {', '.join(KINDS)}) and text."
            )
        page = row.get("page") or ""
        labels.append(KindLabel(row["doc"], int(page) if page.isdigit() else None, row["kind"], row["text"]))
    return labels


def find_document(doc_id: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        for suffix in (".pdf", ".md", ".txt"):
            candidate = folder / f"{doc_id}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def kind_agreement(
    labels: list[KindLabel], folders: list[str | Path], cache: Cache | None = None
) -> KindReport:
    """Classify every labelled passage in its document and compare with its label. Labels whose document
    is in none of ``folders`` are skipped. With a cache, a document read before is not read again."""
    dirs = [Path(f) for f in folders]
    report = KindReport()
    by_doc: dict[str, list[KindLabel]] = {}
    for label in labels:
        by_doc.setdefault(label.doc, []).append(label)
    for doc_id in sorted(by_doc):
        path = find_document(doc_id, dirs)
        if path is None:
            continue
        passages: list[Passage] = segment(read_document(path, cache))
        index = {(p.page, p.text): i for i, p in enumerate(passages)}
        wanted = {lab: index.get((lab.page, lab.text)) for lab in by_doc[doc_id]}
        kinds = classify_passages(passages, [i for i in wanted.values() if i is not None])
        for lab, i in wanted.items():
            if i is None:
                report.not_found.append(lab)
                continue
            predicted = kinds[i]
            report.n += 1
            report.correct += predicted == lab.kind
            report.confusion[(lab.kind, predicted)] += 1
            if predicted != lab.kind:
                report.errors.append((lab, predicted))
    return report
