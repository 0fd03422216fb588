"""What Python's cyclic garbage collector costs a worker, with and without ``gc.freeze`` after warm-up.

    .venv/bin/python benchmarks/bench_gc.py [--corpus ../shared/corpus] [--rounds 1]

``Pipeline.warm_up`` ends with ``gc.freeze()``: the half a million objects of torch, MiniLM and the two
spaCy models then sit in the permanent generation, which collections no longer scan. Each round runs,
in two fresh processes one after the other, what a screening worker does (one torch thread, no cache):
warm up, then ``Pipeline.assess`` every document of the corpus. One process as shipped (frozen), one
with ``gc.unfreeze()`` after warm-up (as before). Prints the CPU seconds of the assessments, the
seconds spent in collections (``gc.callbacks``) and their count, and whether both gave the same
levels and statuses.
"""

from __future__ import annotations

from common import corpus_parser, run_child

CHILD = """
import gc, json, os, sys, time
os.environ["OMP_NUM_THREADS"] = "1"
import torch
torch.set_num_threads(1)
from evaluator.pipeline import Pipeline
from evaluator.workspace.batch import find_documents
from pathlib import Path

pipeline = Pipeline()
pipeline.warm_up()
objects = gc.get_freeze_count()
if sys.argv[2] == "unfrozen":
    gc.unfreeze()
spent = [0.0, 0, 0.0]
def on_collect(phase, info):
    if phase == "start":
        spent[2] = time.perf_counter()
    else:
        spent[0] += time.perf_counter() - spent[2]
        spent[1] += 1
gc.callbacks.append(on_collect)
cpu = time.process_time()
calls, pages = {}, 0
for path in find_documents([Path(sys.argv[1])]):
    a = pipeline.assess(path)
    pages += a.document.pages
    calls[a.document.sha256] = [
        (h.level, [d.status for d in h.descriptors]) for h in a.hallmarks
    ]
print(json.dumps({"cpu": time.process_time() - cpu, "gc": spent[0], "collections": spent[1],
                  "frozen": objects, "pages": pages, "calls": calls}))
"""


def run(corpus: str, mode: str) -> dict:
    return run_child(CHILD, corpus, mode)


def main() -> None:
    parser = corpus_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    for n in range(1, args.rounds + 1):
        results = {mode: run(str(args.corpus), mode) for mode in ("frozen", "unfrozen")}
        frozen, unfrozen = results["frozen"], results["unfrozen"]
        print(
            f"round {n}: {len(frozen['calls'])} documents, {frozen['pages']} pages, one process, one thread; "
            f"{frozen['frozen']:,} objects frozen after warm-up"
        )
        for mode, r in results.items():
            print(
                f"  {mode:9s} assessing {r['cpu']:6.1f} CPU s, of which collections {r['gc']:5.1f} s "
                f"({r['collections']:,} collections)"
            )
        print(
            f"  frozen / unfrozen CPU: {frozen['cpu'] / unfrozen['cpu']:.3f}; "
            f"same levels and statuses: {frozen['calls'] == unfrozen['calls']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
