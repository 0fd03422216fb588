"""Benchmark the team server: decisions per second through the review app on PostgreSQL (and SQLite).

    .venv/bin/python benchmarks/bench_team.py [--reviewers 5] [--decisions 50] [--repeat 3]

Starts its own PostgreSQL (tests/postgres.py: Debian's binaries, a temporary cluster), a workspace
with two documents, N signed-in reviewers, and the review app under uvicorn on a loopback port; each
reviewer posts its decisions over HTTP at the same time (one httpx client per reviewer, redirects not
followed). Prints the wall time, decisions per second and the median and 95th percentile latency of
one decision, per backend. Also times one sign-in (the scrypt KDF dominates it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import httpx  # noqa: E402
import postgres  # noqa: E402
from review_helpers import live_server, make_workspace  # noqa: E402

from evaluator.review.app import create_app  # noqa: E402
from evaluator.review.security import CSRF_COOKIE  # noqa: E402
from evaluator.types import HALLMARK_IDS  # noqa: E402
from evaluator.workspace import accounts  # noqa: E402

PASSWORD = "benchmark passphrase"


def run(database: str | None, reviewers: int, decisions: int) -> tuple[float, list[float], float]:
    root = Path(tempfile.mkdtemp(prefix="bench-team-"))
    ws, docs = make_workspace(root, documents=2, database=database)
    names = [f"r{i}" for i in range(reviewers)]
    for name in names:
        user, _ = accounts.add_user(ws, name, "reviewer")
        accounts.set_password(ws, user, PASSWORD)
    items = [(d.document.sha256, h) for d in docs for h in HALLMARK_IDS]
    latencies: list[float] = []
    sign_ins: list[float] = []
    barrier = threading.Barrier(reviewers + 1)

    def work(name: str, base: str) -> None:
        with httpx.Client(base_url=base, follow_redirects=False, timeout=120) as client:
            client.get("/login")
            csrf = client.cookies[CSRF_COOKIE]
            t = time.perf_counter()
            client.post("/login", data={"csrf_token": csrf, "name": name, "password": PASSWORD})
            sign_ins.append(time.perf_counter() - t)
            barrier.wait()
            for i in range(decisions):
                sha, hid = items[i % len(items)]
                t = time.perf_counter()
                r = client.post(
                    f"/documents/{sha}/decisions",
                    data={"csrf_token": csrf, "hallmark_id": hid, "action": "accept", "based_on": ""},
                )
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 303, r.text[:200]

    with live_server(create_app(ws)) as base:
        threads = [threading.Thread(target=work, args=(n, base)) for n in names]
        for t in threads:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
    return wall, latencies, statistics.median(sign_ins)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewers", type=int, default=5)
    parser.add_argument("--decisions", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server = postgres.Server()
    try:
        total = args.reviewers * args.decisions
        for label in ("postgresql", "sqlite"):
            for _ in range(args.repeat):
                wall, lat, sign_in = run(
                    server.new_database() if label == "postgresql" else None, args.reviewers, args.decisions
                )
                lat.sort()
                print(
                    f"{label:10s} {args.reviewers} reviewers x {args.decisions}: {wall:5.2f} s, "
                    f"{total / wall:6.1f} decisions/s, latency median {1000 * statistics.median(lat):.0f} ms, "
                    f"p95 {1000 * lat[int(0.95 * len(lat))]:.0f} ms; sign-in {1000 * sign_in:.0f} ms",
                    flush=True,
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
