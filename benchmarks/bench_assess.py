"""One strategy while a colleague waits: `evaluator assess FILE --no-cache` wall time beside its floor.

    .venv/bin/python benchmarks/bench_assess.py [--file ../shared/corpus/ws-jhws-2019.pdf] [--repeat 3]

Each round, in this order and in the same run: the floor (pdfplumber ``extract_words()`` over every page
of the file in one process, nothing else), then `evaluator assess FILE --no-cache --json OUT` as a user
runs it (a new process: imports, model load, reading the PDF with one reader per core while the model
loads, segmenting, embedding, matching, judging), then `evaluator --help` (start-up). Prints each
round and the medians, and the ratio assess / floor (issue 13's target: <= 1.2; start-up <= 2 s).
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
    floor, wall, start = (statistics.median(v) for v in (floors, walls, starts))
    print(
        f"median of {args.repeat}: {args.file.name}, {os.cpu_count()} cores: floor {floor:.1f} s, "
        f"assess {wall:.1f} s, ratio {wall / floor:.2f} (target <= 1.2), start-up {start:.2f} s (target <= 2)"
    )


if __name__ == "__main__":
    main()
