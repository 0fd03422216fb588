"""A screening worker's memory and CPU with oneDNN's kernel cache at torch's default and as evaluator sets it.

    .venv/bin/python benchmarks/bench_onednn.py [--corpus ../shared/corpus] [--passes 2]

torch runs MiniLM on the CPU through oneDNN, which keeps a compiled kernel per input shape, up to
``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` (1,024 by default). Batches of passages come in many shapes, so a
worker's resident memory grew with each new shape over a long screen. ``evaluator.pipeline`` sets
the capacity to ``ONEDNN_CACHE_CAPACITY`` unless the environment already does. For each setting, a
fresh process (one torch thread, as a worker) warms up the pipeline and embeds every passage of the corpus ``--passes`` times; it prints the resident
memory after loading and after each pass, and the CPU seconds of each pass.
"""

from __future__ import annotations

import os

from common import corpus_parser, run_child

from evaluator.pipeline import ONEDNN_CACHE_CAPACITY

CHILD = """
import json, os, sys, time
os.environ["OMP_NUM_THREADS"] = "1"
sys.path.insert(0, sys.argv[3])
import torch
torch.set_num_threads(1)
from pathlib import Path
from common import segmented_corpus
from evaluator.pipeline import Pipeline, embed_passages

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))

pipeline = Pipeline()
pipeline.warm_up()
documents = segmented_corpus(Path(sys.argv[1]))
loaded, after, cpu = rss_mb(), [], []
for _ in range(int(sys.argv[2])):
    started = time.process_time()
    for _document, passages in documents:
        embed_passages(pipeline.encoder, passages)
    cpu.append(time.process_time() - started)
    after.append(rss_mb())
print(json.dumps({"loaded": loaded, "after": after, "cpu": cpu,
                  "passages": sum(len(p) for _d, p in documents)}))
"""


def run(corpus: str, passes: int, capacity: str) -> dict:
    here = os.path.dirname(os.path.abspath(__file__))
    return run_child(CHILD, corpus, str(passes), here, env={"ONEDNN_PRIMITIVE_CACHE_CAPACITY": capacity})


def main() -> None:
    parser = corpus_parser(__doc__)
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args()
    for label, capacity in (
        ("torch's (1024)", "1024"),
        (f"evaluator's ({ONEDNN_CACHE_CAPACITY})", ONEDNN_CACHE_CAPACITY),
    ):
        r = run(str(args.corpus), args.passes, capacity)
        print(
            f"kernel cache {label:16s}: {r['passages']} passages; resident {r['loaded']} MB after loading, "
            f"{' / '.join(f'{mb} MB' for mb in r['after'])} after each pass; "
            f"CPU {' / '.join(f'{s:.1f} s' for s in r['cpu'])} per pass",
            flush=True,
        )


if __name__ == "__main__":
    main()
