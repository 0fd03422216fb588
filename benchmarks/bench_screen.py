"""Benchmark `evaluator screen` on a corpus: cold, warm (after a rubric edit), the floor, and kill -9 + resume.

    .venv/bin/python benchmarks/bench_screen.py [--corpus ../shared/corpus] [--workers 2] [--repeat N] [--skip-resume]

Cold: a fresh workspace, 2 worker processes. Warm, on the same workspace: after adding a cue and a
``met_when`` pattern to a copy of the rubric (the cache re-uses extraction, passage embeddings, token
coverage, and the kinds of passages cited before and the targets; matching and judging re-run), then after also adding a query (what a descriptor says: token
coverage reads it, so passages are embedded again; extraction is re-used).
Floor, measured in the same run: pdfplumber extraction alone (evaluator.stages.extract.extract, 2 spawned
processes, largest files first) plus MiniLM embedding alone of the same passages (2 spawned processes,
1 torch thread each, batch 16 and the precision the screen uses, model loading included since the
screen pays it too; the passages the screen embeds, i.e. the substantive ones, read from the cold
run's cache). Ratio = cold wall / floor.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from common import corpus_parser


def _extract_pages(path: str) -> int:
    from evaluator.stages.extract import extract

    return extract(path).page_count


def _embed(texts: list[str]) -> tuple[int, str]:
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    import torch

    torch.set_num_threads(1)
    from evaluator.stages.embed import load_encoder

    encoder = load_encoder()
    encoder.encode(texts)
    return len(texts), encoder.precision


def floor(files: list[Path], cache_dir: Path, workers: int) -> tuple[float, float, int, str]:
    from evaluator.pipeline import Pipeline, file_sha256
    from evaluator.stages.cache import Cache
    from evaluator.stages.embed import MiniLMEncoder
    from evaluator.stages.segment import is_substantive
    from evaluator.workspace.batch import estimate_pages

    ctx = get_context("spawn")
    ordered = sorted(files, key=lambda p: -estimate_pages(p, None))
    started = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        list(pool.map(_extract_pages, map(str, ordered)))
    extract_s = time.perf_counter() - started

    cache = Cache(cache_dir)
    key = Pipeline(encoder=MiniLMEncoder(), judge=None).passages_key()
    texts = [
        p.text
        for f in files
        for p in (cache.passages(file_sha256(f), key) or ([], None))[0]
        if is_substantive(p)
    ]
    halves = [texts[i::workers] for i in range(workers)]
    started = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        precisions = {precision for _, precision in pool.map(_embed, halves)}
    embed_s = time.perf_counter() - started
    return extract_s, embed_s, len(texts), "/".join(sorted(precisions))


def edited_rubric(folder: Path, wording: bool) -> Path:
    """A copy of the shipped rubric with a cue and a ``met_when`` pattern added to 1.A.1; with
    ``wording``, also a query added to the first descriptor that has queries."""
    from evaluator.rubric import default_rubric_path

    text = default_rubric_path().read_text(encoding="utf-8")
    text = text.replace(
        '        cues: ["definition of wellbeing", ',
        '        cues: ["wellbeing we mean", "definition of wellbeing", ',
        1,
    )
    text = text.replace(
        "        met_when:\n",
        '        met_when:\n          - "\\\\bwhat\\\\s+wellbeing\\\\s+means\\\\s+to\\\\s+us\\\\b"\n',
        1,
    )
    if wording:
        text = text.replace(
            "        queries:\n",
            '        queries:\n          - "We ask residents every year how satisfied they are with life."\n',
            1,
        )
    assert text.count("wellbeing we mean") and text.count("what\\\\s+wellbeing"), (
        "the rubric's layout changed"
    )
    out = folder / f"edited-rubric-{'wording' if wording else 'scoring'}.yaml"
    out.write_text(text, encoding="utf-8")
    return out


def kill_and_resume(files: list[Path], folder: Path, workers: int) -> None:
    """Screen the smallest documents in a subprocess, kill -9 it after 2 are saved, re-run, compare."""
    from evaluator.workspace.batch import estimate_pages, screen
    from evaluator.workspace.store import Workspace

    subset = sorted(files, key=lambda p: estimate_pages(p, None))[:5]
    docs = folder / "subset"
    docs.mkdir()
    for f in subset:
        shutil.copy(f, docs / f.name)
    ws_dir = folder / "ws-resume"
    cmd = [
        sys.executable,
        "-m",
        "evaluator.cli",
        "screen",
        str(docs),
        "--workspace",
        str(ws_dir),
        "--workers",
        str(workers),
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db, done = ws_dir / "evaluator.sqlite", 0
    while proc.poll() is None and done < 2:
        time.sleep(0.2)
        try:
            with sqlite3.connect(db) as conn:
                done = conn.execute("SELECT count(*) FROM assessments").fetchone()[0]
        except sqlite3.Error:
            pass
    if proc.poll() is not None:
        print("kill-and-resume: the screen finished before it could be killed; nothing to check")
        return
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    before = {s.sha256: s.id for s in Workspace(ws_dir).current_assessments()}
    time.sleep(1)  # orphaned workers notice their parent is gone and exit
    summary = screen([docs], ws_dir, workers=workers, quiet=True)
    after = {s.sha256: s.id for s in Workspace(ws_dir).current_assessments()}
    kept = all(after.get(sha) == id_ for sha, id_ in before.items())
    print(
        f"kill-and-resume: killed after {len(before)}/{len(subset)} saved; integrity {integrity}; re-run: "
        f"{summary.line()}; finished documents kept (not redone): {kept}"
    )
    assert integrity == "ok" and kept and len(after) == len(subset) and not summary.failed
    assert len(summary.skipped) == len(before) and len(summary.ok) == len(subset) - len(before)


def cache_size(ws: Path) -> str:
    """What `evaluator cache info` counts in the workspace's cache: entries and megabytes."""
    from evaluator.stages.cache import Cache

    entries = Cache(ws / "cache").entries()
    return f"{len(entries.files)} entries, {entries.size / 1e6:.1f} MB"


def main() -> None:
    parser = corpus_parser(__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="cold runs, each with its floor measured right after it (this machine has neighbours)",
    )
    parser.add_argument("--skip-resume", action="store_true")
    args = parser.parse_args()

    from evaluator.workspace.batch import find_documents, screen

    files = find_documents([args.corpus])
    print(
        f"corpus {args.corpus}: {len(files)} documents; {os.cpu_count()} CPUs; load average "
        f"{os.getloadavg()[0]:.1f} at start (other jobs share this machine)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-screen-") as tmp:
        folder = Path(tmp)
        ratios, colds = [], []
        for run in range(1, args.repeat + 1):
            ws = folder / f"ws{run}"
            cold = screen(files, ws, workers=args.workers, quiet=True)
            assert not cold.failed, [(o.path, o.reason) for o in cold.failed]
            pages = cold.pages
            print(
                f"run {run} cold: {cold.seconds:.1f} s wall, {pages} pages, {pages / cold.seconds:.1f} pages/s, "
                f"{60 * len(cold.ok) / cold.seconds:.1f} documents/min, peak RSS per worker "
                f"{', '.join(f'{r:.0f}' for r in cold.worker_peak_rss_mb)} MB"
            )
            print(f"run {run} cache after it: {cache_size(ws)}")
            extract_s, embed_s, passages, precision = floor(files, ws / "cache", args.workers)
            total = extract_s + embed_s
            print(
                f"run {run} floor: extraction alone {extract_s:.1f} s ({args.workers} processes) + MiniLM embedding "
                f"alone of {passages} passages {embed_s:.1f} s ({args.workers} processes x 1 thread, {precision}, "
                f"model load included) = {total:.1f} s; ratio cold/floor {cold.seconds / total:.2f}"
            )
            colds.append(cold.seconds)
            ratios.append(cold.seconds / total)
        for wording, edit in ((False, "a cue and a pattern"), (True, "a query too: embedded again")):
            rubric = edited_rubric(folder, wording)
            warm = screen(files, ws, workers=args.workers, quiet=True, rubric=rubric)
            print(
                f"warm (rubric edited, {edit}: {len(warm.ok)} re-scored, {len(warm.skipped)} skipped): "
                f"{warm.seconds:.1f} s wall; cache {cache_size(ws)}"
            )
        same = screen(files, ws, workers=args.workers, quiet=True, rubric=rubric)
        print(f"unchanged re-run: {same.line()} in {same.seconds:.1f} s")
        if args.repeat > 1:
            print(
                f"over {args.repeat} runs: cold median {statistics.median(colds):.1f} s (max {max(colds):.1f}); "
                f"ratio median {statistics.median(ratios):.2f} (max {max(ratios):.2f})"
            )
        print("targets: cold <= 60 s; ratio cold/floor <= 1.3; warm <= 10 s; peak RSS per worker <= 1.5 GB")
        if not args.skip_resume:
            kill_and_resume(files, folder, args.workers)


if __name__ == "__main__":
    main()
