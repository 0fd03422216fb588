"""Benchmark `evaluator evaluate` on the labelled documents: cold (a fresh cache), then warm (run again).

    .venv/bin/python benchmarks/bench_evaluate.py [--gold ../shared/gold] [--corpus ../shared/corpus]
        [--repeat N] [--cache DIR --skip-cold]

Each run is `evaluator evaluate --gold GOLD --docs CORPUS --quiet` in a process of its own, with
EVALUATOR_CACHE set to the cache: the baselines and the kind agreement included, as a developer runs it.
Cold reads, segments and embeds every document. Warm is what each re-run after a judge, ranker or cue
change costs: the documents, passages, the dense baseline's chunk vectors and the kind agreement's
documents come from the cache; the leave-one-document-out fits, the baselines' thresholds and the
bootstrap intervals run again. ``--cache DIR --skip-cold`` times only warm runs on a cache of your own
(to compare two commits on one cache, run this script with PYTHONPATH set to the other checkout).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import SHARED, corpus_parser


def run(gold: Path, corpus: Path, cache: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "evaluator.cli",
            "evaluate",
            "--gold",
            str(gold),
            "--docs",
            str(corpus),
            "--quiet",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "EVALUATOR_CACHE": str(cache)},
    )
    return time.perf_counter() - start


def main() -> None:
    parser = corpus_parser(__doc__)
    parser.add_argument("--gold", type=Path, default=SHARED / "gold", help="reviewer labels (../shared/gold)")
    parser.add_argument("--repeat", type=int, default=1, help="warm runs (default 1)")
    parser.add_argument("--cache", type=Path, help="cache folder (default: a fresh temporary one)")
    parser.add_argument("--skip-cold", action="store_true", help="time warm runs only (needs a warm --cache)")
    args = parser.parse_args()
    if args.skip_cold and not args.cache:
        parser.error("--skip-cold needs --cache DIR: a cache an earlier run has filled")
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        cache = args.cache or Path(tmp) / "cache"
        documents = len(list(args.gold.glob("*.json")))
        print(f"evaluator evaluate on {documents} labelled documents ({args.corpus}), cache {cache}")
        if not args.skip_cold:
            print(f"cold (nothing cached): {run(args.gold, args.corpus, cache):.1f} s", flush=True)
        warm = [run(args.gold, args.corpus, cache) for _ in range(args.repeat)]
        print("warm (run again on the same cache): " + ", ".join(f"{t:.1f} s" for t in warm))


if __name__ == "__main__":
    main()
