"""What evidence kinds cost: spaCy's en_core_web_sm (tagger, parser, lemmatizer) over every passage, against
what the pipeline parses (target candidates: a digit, a comparator or a table row; plus cited passages).

    python benchmarks/bench_kinds.py [FOLDER ...]   (default: corpus/ and ../shared/corpus)

Prints passages, candidates, seconds and passages per second. One process; the machine is shared, so
figures vary by about 25% from run to run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from evaluator.stages.extract import extract
from evaluator.stages.kinds import classify, contexts, find_targets, is_candidate, load_parser
from evaluator.stages.segment import is_substantive, segment

REPO = Path(__file__).resolve().parents[1]


def main(folders: list[Path]) -> None:
    files = sorted(f for folder in folders for f in folder.glob("*.pdf"))
    documents = [segment(extract(f)) for f in files]
    t = time.perf_counter()
    load_parser()
    print(f"load en_core_web_sm (tagger, parser, lemmatizer): {time.perf_counter() - t:.1f} s")
    every = [p for doc in documents for p in doc if is_substantive(p)]
    candidates = sum(is_candidate(p, c) for doc in documents for p, c in zip(doc, contexts(doc), strict=True))
    t = time.perf_counter()
    classify([p.text for p in every])
    all_s = time.perf_counter() - t
    t = time.perf_counter()
    n_targets = sum(len(find_targets(doc)) for doc in documents)
    target_s = time.perf_counter() - t
    print(f"{len(files)} documents, {len(every)} substantive passages, {candidates} target candidates")
    print(f"every passage parsed:      {all_s:6.1f} s  ({len(every) / all_s:.0f} passages/s)")
    print(f"targets table (candidates): {target_s:6.1f} s  ({n_targets} targets)")
    print(f"per document, candidates only: {target_s / len(files):.2f} s")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or [REPO / "corpus", REPO.parent / "shared" / "corpus"]
    main([a for a in args if a.is_dir()])
