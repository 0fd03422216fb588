"""Benchmark a workspace at scale: the review app's documents list and one document's page, and exports.

    .venv/bin/python benchmarks/bench_workspace.py [--documents 1000] [--repeat 5]
        [--database postgresql://... | --postgres] [--keep DIR]

Assesses a few sample strategies of corpus/ once (`evaluator assess --json`, cached), then fabricates
``--documents`` distinct documents from them (own sha256, path and title; levels, confidences and the
order of each descriptor's evidence varied; 7 hallmarks, 57 descriptors with their evidence quotes
each) saved through ``Workspace.save_assessment``, and reviewer decisions, evidence verdicts and
consensus records on every tenth document through ``evaluator.workspace.decisions``. Then, each of
``--repeat`` times with a new app under uvicorn on a loopback port (tests/review_helpers.live_server),
times the first and the following requests of the documents list (GET /) and of one reviewed
document's page, and times ``evaluator export`` (a new process, start-up included) in xlsx, csv and
json. Prints the workspace's size and rows and the medians against the targets. SQLite by default;
``--database URL`` runs the same on a PostgreSQL database, ``--postgres`` on a throwaway server
(tests/postgres.py: Debian's binaries, a temporary cluster).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import httpx  # noqa: E402
from review_helpers import live_server, workspace_args  # noqa: E402

from evaluator.review.app import create_app  # noqa: E402
from evaluator.types import LEVELS, Assessment  # noqa: E402
from evaluator.workspace import decisions as dec  # noqa: E402
from evaluator.workspace.store import Workspace  # noqa: E402

SAMPLES = ("kestrel-vale-hws-2025.pdf", "eastbridge-hws-2023.pdf", "harrowfield-hws-2024.pdf")
TARGETS = {"documents list": 0.300, "document page": 0.500, "export xlsx": 10.0}
EVALUATOR = [sys.executable, "-m", "evaluator.cli"]


def samples(folder: Path) -> list[str]:
    """The sample strategies' assessment JSON, as `evaluator assess` writes it (the cache makes it fast)."""
    texts = []
    for name in SAMPLES:
        out = folder / f"{Path(name).stem}.json"
        subprocess.run(
            [*EVALUATOR, "assess", str(HERE.parent / "corpus" / name), "--json", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        texts.append(out.read_text(encoding="utf-8"))
    return texts


def fabricate(sample: str, i: int) -> Assessment:
    """Document ``i``: a sample assessment as another council's strategy, with its own levels."""
    rng = random.Random(i)
    data = json.loads(sample)
    doc = data["document"]
    doc["sha256"] = hashlib.sha256(f"bench-workspace document {i}".encode()).hexdigest()
    doc["path"] = f"strategies/council-{i:04d}-{Path(doc['path']).name}"
    doc["title"] = f"Council {i:04d}: {doc['title']}"
    for h in data["hallmarks"]:
        h["level"] = rng.choice(LEVELS)
        h["confidence"] = round(rng.uniform(0.3, 0.99), 2)
        h["needs_review"] = h["confidence"] < 0.8
        for d in h["descriptors"]:
            d["probability"] = round(min(1.0, max(0.0, d["probability"] + rng.uniform(-0.1, 0.1))), 2)
            rng.shuffle(d["evidence"])
    return Assessment.model_validate(data)


def review(ws: Workspace, a: Assessment, i: int) -> None:
    """Two reviewers decide every hallmark (one overrides two), evidence verdicts, now and then a consensus."""
    sha = a.document.sha256
    for h in a.hallmarks:
        dec.record_decision(ws, sha, h.id, reviewer="Ana Silva", action="accept")
        if h.id in ("1", "4"):
            other = LEVELS[(LEVELS.index(h.level) + 1) % len(LEVELS)]
            reason = "The strategy names ward-level targets the suggestion missed."
            dec.record_decision(
                ws, sha, h.id, reviewer="Ben Okafor", action="override", level=other, reason=reason
            )
        else:
            dec.record_decision(ws, sha, h.id, reviewer="Ben Okafor", action="accept")
    cited = [(d.id, n) for h in a.hallmarks for d in h.descriptors for n in range(len(d.evidence[:1]))]
    for descriptor_id, n in cited[:5]:
        dec.record_evidence_verdict(
            ws, sha, descriptor_id, passage_index=n, verdict="confirm", reviewer="Ana Silva"
        )
    if i % 20 == 0:
        dec.record_consensus(
            ws, sha, "1", level="optimising", recorded_by="Chris Lee", reason="Agreed at panel."
        )


def build(ws: Workspace, texts: list[str], documents: int) -> tuple[str, float]:
    """Fill the workspace; the sha256 of a reviewed document, and the seconds it took."""
    started = time.perf_counter()
    run_id = ws.start_run("bench", {"documents": documents})
    reviewed = ""
    for i in range(documents):
        a = fabricate(texts[i % len(texts)], i)
        ws.save_assessment(a, cache_key=f"bench-{i}", run_id=run_id)
        if i % 10 == 0:
            review(ws, a, i)
            reviewed = reviewed or a.document.sha256
    ws.finish_run(run_id, documents, 0)
    ws.save_rubric(ws.rubric())
    return reviewed, time.perf_counter() - started


def size_and_rows(ws: Workspace) -> tuple[int, dict[str, int]]:
    tables = ("documents", "assessments", "decisions", "evidence_decisions", "consensus")
    with ws.connect() as conn:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        if ws.postgres:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        else:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if not ws.postgres:
        size = sum(p.stat().st_size for p in ws.root.rglob("*") if p.is_file())
    return int(size), rows


def get(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    r = client.get(url)
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return elapsed


def time_app(ws: Workspace, sha: str, repeat: int, warm: int) -> dict[str, list[float]]:
    """Per repeat a new app and server: the first request of each page, then ``warm`` more of each."""
    times: dict[str, list[float]] = {}
    pages = {"documents list": "/", "document page": f"/documents/{sha}"}
    for _ in range(repeat):
        with live_server(create_app(ws)) as base, httpx.Client(base_url=base, timeout=300) as client:
            for name, url in pages.items():
                times.setdefault(f"{name}, first", []).append(get(client, url))
            for name, url in pages.items():
                times.setdefault(name, []).extend(get(client, url) for _ in range(warm))
    return times


def time_exports(ws: Workspace, out: Path, repeat: int, documents: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for fmt in ("xlsx", "csv", "json"):
        target = out / f"export.{fmt}"
        for _ in range(repeat):
            started = time.perf_counter()
            done = subprocess.run(
                [*EVALUATOR, "export", *workspace_args(ws), "--format", fmt, "--out", str(target)],
                check=True,
                capture_output=True,
                text=True,
            )
            times.setdefault(f"export {fmt}", []).append(time.perf_counter() - started)
            assert f"Wrote {documents} document(s)" in done.stdout, done.stdout + done.stderr
        print(f"  export {fmt}: {target.stat().st_size / 1e6:.1f} MB", flush=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="new servers (and exports) per figure")
    parser.add_argument("--warm", type=int, default=5, help="requests after the first, per server")
    parser.add_argument("--database", help="a PostgreSQL URL (an empty database) instead of SQLite")
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL server")
    parser.add_argument("--keep", type=Path, help="build the workspace in this (new) folder and keep it")
    args = parser.parse_args()
    server = None
    if args.postgres:
        import postgres

        server = postgres.Server()
        args.database = server.new_database()
    tmp = Path(tempfile.mkdtemp(prefix="bench-workspace-"))
    try:
        root = args.keep or tmp / "ws"
        ws = Workspace(root, database=args.database)
        backend = "postgresql" if ws.postgres else "sqlite"
        sha, built = build(ws, samples(tmp), args.documents)
        size, rows = size_and_rows(ws)
        print(f"{backend}: {args.documents} documents fabricated and reviewed in {built:.1f} s", flush=True)
        print(f"  workspace: {size / 1e6:.1f} MB on disk; rows: {json.dumps(rows)}", flush=True)
        times = time_app(ws, sha, args.repeat, args.warm)
        times.update(time_exports(ws, tmp, max(1, args.repeat // 2), args.documents))
        print(
            f"{backend}, {args.documents} documents: median of {args.repeat} servers (exports: of {max(1, args.repeat // 2)})"
        )
        for name, values in times.items():
            median = statistics.median(values)
            target = TARGETS.get(name)
            verdict = (
                ""
                if target is None
                else f"  target <= {target:g} s: {'met' if median <= target else 'MISSED'}"
            )
            print(
                f"  {name:22s} median {median:8.3f} s  (min {min(values):.3f}, max {max(values):.3f}, n={len(values)}){verdict}",
                flush=True,
            )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
