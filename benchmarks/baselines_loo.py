"""Score the keyword-only (BM25) and dense-only (MiniLM) baselines leave-one-document-out.

    .venv/bin/python benchmarks/baselines_loo.py [--shared ../shared] [--only bm25|dense]
        [--normalise none|max] [--json OUT]

Reads the corpus PDFs and gold labels in ``../shared``; page texts are extracted once
with pdfplumber (or ``evaluator.stages.extract`` when it exists) and cached under /tmp.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = Path("/tmp/wellbeing-evaluator-pages")


def page_texts(path: Path) -> list[tuple[int | None, str]]:
    """(page number, text) per page, cached by file content hash."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    cached = CACHE / f"{path.stem}.{digest}.json"
    if cached.exists():
        return [(p, t) for p, t in json.loads(cached.read_text())]
    if path.suffix.lower() != ".pdf":
        pages: list[tuple[int | None, str]] = [(None, path.read_text(encoding="utf-8"))]
    else:
        import pdfplumber

        with pdfplumber.open(path) as pdf:
            pages = [(i, page.extract_text() or "") for i, page in enumerate(pdf.pages, start=1)]
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(pages))
    return pages


def load_descriptors(shared: Path):
    """The rubric's descriptors: evaluator.rubric if importable, else the shared TSV."""
    try:
        from evaluator.rubric import load_rubric

        return load_rubric().descriptors
    except Exception as exc:  # rubric module not ready yet
        print(f"(rubric from TSV: {type(exc).__name__}: {exc})", file=sys.stderr)
        import csv

        from evaluator.types import Descriptor

        with open(shared / "rubric-descriptors.tsv", encoding="utf-8", newline="") as handle:
            rows = csv.DictReader(handle, delimiter="\t")
            return [
                Descriptor(id=r["id"], hallmark=r["hallmark"], level=r["level"], text=r["descriptor"])
                for r in rows
            ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--only", choices=["bm25", "dense"])
    ap.add_argument("--normalise", choices=["none", "max"], default="none", help="per-document score scaling")
    ap.add_argument("--extract-only", action="store_true")
    ap.add_argument("--json", type=Path, help="write the Scores JSON of each baseline here")
    args = ap.parse_args(argv)

    from evaluator.evaluation.gold import find_document, load_gold

    gold = load_gold(args.shared / "gold")
    pages_by_doc = {}
    for doc_id in sorted(gold):
        path = find_document(args.shared / "corpus", doc_id)
        if path is None:
            print(f"skip {doc_id}: no document", file=sys.stderr)
            continue
        t0 = time.time()
        pages_by_doc[doc_id] = page_texts(path)
        print(f"{doc_id}: {len(pages_by_doc[doc_id])} pages ({time.time() - t0:.1f}s)", file=sys.stderr)
    if args.extract_only:
        return 0
    gold = {d: g for d, g in gold.items() if d in pages_by_doc}

    from evaluator.evaluation.baselines import BM25Scorer, DenseScorer, loo_predictions
    from evaluator.evaluation.metrics import DocPrediction, score

    descriptors = load_descriptors(args.shared)
    scorers = []
    if args.only in (None, "bm25"):
        scorers.append(("keyword-only (BM25)", lambda: BM25Scorer(descriptors, normalise=args.normalise)))
    if args.only in (None, "dense"):
        scorers.append(
            ("dense-only (MiniLM)", lambda: DenseScorer(descriptors, _encoder(), normalise=args.normalise))
        )

    out = {}
    print(f"{len(gold)} documents, {len(descriptors)} descriptors, leave-one-document-out")
    header = f"{'baseline':22} {'hm exact':>8} {'hm qwk':>7} {'d 3c k':>7} {'d lin k':>7} {'d bin k':>7} {'F1':>6} {'pages':>6}"
    print(header)
    all_none = {
        d: DocPrediction(
            levels={h: "none" for h in g.hallmarks}, statuses={i: "not_met" for i in g.descriptors}
        )
        for d, g in gold.items()
    }
    runs = [("all none / not_met", lambda: None)] + scorers
    for name, make in runs:
        t0 = time.time()
        scorer = make()
        if scorer is None:
            predictions = all_none
        else:
            raw = {doc_id: scorer.score_document(pages_by_doc[doc_id]) for doc_id in gold}
            predictions = loo_predictions(raw, gold, descriptors)
        s = score(predictions, gold)
        out[name] = s.model_dump()
        print(
            f"{name:22} {s.hallmarks.exact:8.3f} {s.hallmarks.kappa_quadratic:7.3f} "
            f"{s.descriptors.kappa:7.3f} {s.descriptors.kappa_linear:7.3f} {s.descriptors.kappa_binary:7.3f} "
            f"{s.descriptors.f1:6.3f} {s.evidence.page_hit_rate:6.3f}   ({time.time() - t0:.0f}s)"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


def _encoder():
    from evaluator.stages.embed import load_encoder

    return load_encoder()


if __name__ == "__main__":
    raise SystemExit(main())
