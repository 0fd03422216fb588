"""One strategy while a colleague waits: `evaluator assess FILE --no-cache` wall time beside its floor.

    .venv/bin/python benchmarks/bench_assess.py [--file ../shared/corpus/ws-jhws-2019.pdf] [--repeat 3]

Each round, in this order and in the same run: the floor (pdfplumber ``extract_words()`` over every page
of the file in one process, nothing else), then `evaluator assess FILE --no-cache --json OUT` as a user
runs it (a new process: reading the PDF with one reader per core from the start, while it imports the
pipeline and loads the models; then segmenting, embedding, matching, judging), then `evaluator --help` (start-up), then the same
assessment in a process that has its models loaded already (a screening worker, the review app):
``Pipeline.assess`` with one reader per core, no cache. Prints each round and the medians, the ratios
to the floor (issue 13's target: <= 1.2; start-up <= 2 s), and where a cold `assess` spends its time
before the first page is read (imports and model loading, measured in a fresh process).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import SHARED

EVALUATOR = [sys.executable, "-m", "evaluator.cli"]


def floor_seconds(path: Path) -> float:
    """pdfplumber's extract_words() over every page, in a fresh process (so nothing is warm)."""
    code = (
        "import sys, time, pdfplumber\n"
        "t = time.perf_counter()\n"
        "with pdfplumber.open(sys.argv[1]) as pdf:\n"
        "    for page in pdf.pages:\n"
        "        page.extract_words()\n"
        "        page.close()\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def wall_seconds(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def warm_seconds(path: Path, repeat: int) -> list[float]:
    """``Pipeline.assess`` in a fresh process that loads everything first; one timing per round."""
    code = (
        "import functools, sys, time\n"
        "from evaluator.limits import default_readers, extract_isolated\n"
        "from evaluator.pipeline import Pipeline\n"
        "p = Pipeline(extractor=functools.partial(extract_isolated, readers=default_readers()))\n"
        "p.warm_up()\n"
        "for _ in range(int(sys.argv[2])):\n"
        "    t = time.perf_counter()\n"
        "    p.assess(sys.argv[1])\n"
        "    print(time.perf_counter() - t)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(repeat)], check=True, capture_output=True, text=True
    )
    return [float(line) for line in out.stdout.split()]


def loading_seconds() -> dict[str, float]:
    """What a cold process pays before it can assess: imports, then loading the models."""
    code = (
        "import time\n"
        "t = time.perf_counter()\n"
        "import evaluator.pipeline\n"
        "a = time.perf_counter()\n"
        "import torch, sentence_transformers\n"
        "b = time.perf_counter()\n"
        "evaluator.pipeline.Pipeline().warm_up()\n"
        "c = time.perf_counter()\n"
        "print(a - t, b - a, c - b)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    names = (
        "import evaluator.pipeline (spaCy, pydantic...)",
        "import torch + sentence-transformers",
        "load MiniLM, rubric vectors, spaCy models",
    )
    return dict(zip(names, map(float, out.stdout.split()), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=SHARED / "corpus" / "ws-jhws-2019.pdf")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.pop("EVALUATOR_CACHE", None)
    floors, walls, starts = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "assessment.json"
        for round_ in range(1, args.repeat + 1):
            floors.append(floor_seconds(args.file))
            walls.append(
                wall_seconds([*EVALUATOR, "assess", str(args.file), "--no-cache", "--json", str(out)])
            )
            starts.append(wall_seconds([*EVALUATOR, "--help"]))
            print(
                f"round {round_}: floor (pdfplumber extract_words, 1 process) {floors[-1]:.1f} s; "
                f"assess {walls[-1]:.1f} s (ratio {walls[-1] / floors[-1]:.2f}); start-up {starts[-1]:.2f} s",
                flush=True,
            )
    warm = warm_seconds(args.file, args.repeat)
    loading = loading_seconds()
    floor, wall, start, warm_s = (statistics.median(v) for v in (floors, walls, starts, warm))
    print(
        f"median of {args.repeat}: {args.file.name}, {os.cpu_count()} cores: floor {floor:.1f} s, "
        f"assess {wall:.1f} s, ratio {wall / floor:.2f} (target <= 1.2), start-up {start:.2f} s (target <= 2)"
    )
    print(f"in a process with the models loaded: {warm_s:.1f} s, ratio {warm_s / floor:.2f}")
    print("a cold process, before it can assess: " + "; ".join(f"{k} {v:.1f} s" for k, v in loading.items()))


if __name__ == "__main__":
    main()
