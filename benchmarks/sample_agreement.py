"""How the suggested levels compare with the intended levels of the sample corpus (corpus/MANIFEST.tsv).

    .venv/bin/python benchmarks/sample_agreement.py [--workspace DIR]

The intended levels are the sample documents' authors' calls, not independent gold labels: this is a
sanity check of direction (too generous or too strict), not an accuracy figure. The descriptor calls
are compared likewise with corpus/intended_descriptors.tsv (a table of intended against suggested).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import evaluator
from evaluator.evaluation.metrics import confusion, kappa
from evaluator.types import HALLMARK_IDS, LEVELS, STATUSES

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
        assessments = {
            Path(s.path).stem: s.assessment for s in evaluator.Workspace(workspace).current_assessments()
        }
    suggested = {doc_id: {h.id: h.level for h in a.hallmarks} for doc_id, a in assessments.items()}
    statuses = {
        doc_id: {d.id: d.status for h in a.hallmarks for d in h.descriptors}
        for doc_id, a in assessments.items()
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
    with open(CORPUS / "intended_descriptors.tsv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    intended_calls = [r["intended"] for r in rows]
    suggested_calls = [statuses[r["doc_id"]][r["descriptor_id"]] for r in rows]
    table = confusion(intended_calls, suggested_calls, STATUSES)
    print(f"\ndescriptors: {len(rows)} calls, rows intended, columns suggested")
    print("".ljust(10), " ".join(s.ljust(8) for s in STATUSES))
    for status, row in zip(STATUSES, table, strict=True):
        print(status.ljust(10), " ".join(str(n).ljust(8) for n in row))
    as_intended = sum(table[i][i] for i in range(len(STATUSES)))
    agreement = kappa(intended_calls, suggested_calls, STATUSES)
    print(f"{as_intended} of {len(rows)} descriptor calls as intended, 3-class kappa {agreement:.3f}")


if __name__ == "__main__":
    main()
