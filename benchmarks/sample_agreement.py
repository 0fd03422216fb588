"""How the suggested levels compare with the intended levels of the sample corpus (corpus/MANIFEST.tsv).

    .venv/bin/python benchmarks/sample_agreement.py [--workspace DIR]

The intended levels are the sample documents' authors' calls, not independent gold labels: this is a
sanity check of direction (too generous or too strict), not an accuracy figure.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import evaluator
from evaluator.types import HALLMARK_IDS, LEVELS

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workspace", type=Path, help="screen into this workspace (default: a temporary one)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = args.workspace or Path(tmp) / "ws"
        evaluator.screen([CORPUS], workspace, workers=2, quiet=True, reports=False)
        suggested = {
            Path(s.path).stem: {h.id: h.level for h in s.assessment.hallmarks}
            for s in evaluator.Workspace(workspace).current_assessments()
        }
    with open(CORPUS / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        intended = {r["doc_id"]: r for r in csv.DictReader(handle, delimiter="\t")}
    same = lower = higher = 0
    print("document".ljust(32), " ".join(h.ljust(10) for h in HALLMARK_IDS), "(suggested/intended)")
    for doc_id, row in sorted(intended.items()):
        cells = []
        for h in HALLMARK_IDS:
            s, i = LEVELS.index(suggested[doc_id][h]), LEVELS.index(row[f"h{h}"])
            same, lower, higher = same + (s == i), lower + (s < i), higher + (s > i)
            cells.append(f"{LEVELS[s][:4]}/{LEVELS[i][:4]}".ljust(10))
        print(doc_id.ljust(32), " ".join(cells))
    total = same + lower + higher
    print(f"{same} of {total} hallmarks as intended, {lower} lower, {higher} higher")


if __name__ == "__main__":
    main()
