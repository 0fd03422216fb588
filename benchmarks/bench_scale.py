"""Screening at national scale: 150 distinct documents, cold, 2 workers, beside the floor.

    .venv/bin/python benchmarks/bench_scale.py [--corpus ../shared/corpus] [--documents 150] [--workers 2]

The documents are copies of the corpus's PDFs, each page of each copy given a line of its own text
(pypdfium2 adds a text object in the page body), so every copy has a different file hash and different
page text: no cache entry or de-duplication can serve one copy from another. A fresh workspace is
screened cold; the script prints pages/s, the cache hits (documents whose extraction or embeddings
were already cached: must be 0), the workers' resident memory (peaks sampled every 2 s; each worker's
between documents, as it reports it after each one, its first tenth against its last to show it is
flat; how many workers were replaced because they grew; the page-range readers a worker starts for
the last documents apart: they come and go), and the workspace's size. Then, in the same run, the
floor over one copy of each corpus file (pdfplumber extraction alone + MiniLM embedding alone,
2 processes each, see bench_screen.py) as pages/s. Targets (issue 13): >= 10 pages/s, <= 1 GB per
worker, flat.
"""

from __future__ import annotations

import ctypes
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench_screen import floor
from common import corpus_parser

NAMES = ["Ash", "Birch", "Cedar", "Damson", "Elder", "Fir", "Gorse", "Hazel", "Ivy", "Juniper", "Larch"]


def distinct_copy(source: Path, out: Path, copy: int) -> int:
    """``source`` with one line of text added to each page body: "Copy 12 read by Hazel (page 3)"."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument(str(source))
    font = raw.FPDFText_LoadStandardFont(pdf, b"Helvetica")
    for number in range(len(pdf)):
        page = pdf[number]
        width, height = page.get_size()
        text = f"Copy {copy} read by {NAMES[(copy * 7 + number) % len(NAMES)]} (page {number + 1})"
        obj = raw.FPDFPageObj_NewTextObj(pdf, b"Helvetica", ctypes.c_float(9))
        utf16 = ctypes.create_string_buffer((text + "\0").encode("utf-16-le"))
        raw.FPDFText_SetText(obj, ctypes.cast(utf16, ctypes.POINTER(ctypes.c_ushort)))
        raw.FPDFPageObj_Transform(
            obj, 1, 0, 0, 1, ctypes.c_double(width * 0.1), ctypes.c_double(height * 0.15)
        )
        raw.FPDFPage_InsertObject(page, obj)
        raw.FPDFPage_GenerateContent(page)
        page.close()
    pages = len(pdf)
    raw.FPDFFont_Close(font)
    pdf.save(str(out))
    pdf.close()
    return pages


def _children_rss_mb() -> dict[int, tuple[float, bool]]:
    """Resident memory of this process's descendants that run Python, and whether each is a direct child:
    the screen's workers are, the page-range readers a worker starts for its last documents are not."""
    me, out = os.getpid(), {}
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor and ancestor != me:
            ancestor = parents.get(ancestor)
        if ancestor != me:
            continue
        try:
            status = (Path("/proc") / str(pid) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                out[pid] = (int(line.split()[1]) / 1024, parents[pid] == me)
    return out


def main() -> None:
    parser = corpus_parser(__doc__)
    parser.add_argument("--documents", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from evaluator.pipeline import file_sha256
    from evaluator.stages.cache import Cache
    from evaluator.stages.extract import EXTRACTOR_VERSION
    from evaluator.workspace.batch import screen

    sources = sorted(args.corpus.glob("*.pdf"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "documents"
        folder.mkdir()
        pages = 0
        started = time.perf_counter()
        copies = []
        for i in range(args.documents):
            source = sources[i % len(sources)]
            copies.append(folder / f"{source.stem}-copy{i:03d}.pdf")
            pages += distinct_copy(source, copies[-1], i)
        print(
            f"{args.documents} distinct documents, {pages} pages, made in {time.perf_counter() - started:.0f} s"
        )

        workspace = Path(tmp) / "workspace"
        cache = Cache(workspace / "cache")
        hits = sum(cache.has_document(file_sha256(c), EXTRACTOR_VERSION) for c in copies)
        samples: list[tuple[float, dict[int, tuple[float, bool]]]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(2.0):
                samples.append((time.perf_counter(), _children_rss_mb()))

        sampler = threading.Thread(target=sample, daemon=True)
        started = time.perf_counter()
        sampler.start()
        summary = screen([folder], workspace, workers=args.workers, quiet=True, reports=False)
        done.set()
        seconds = time.perf_counter() - started
        ok = summary.ok
        screened_pages = sum(o.pages for o in ok)
        print(
            f"cold screen, {args.workers} workers: {seconds:.0f} s, {len(ok)} ok, {len(summary.failed)} failed, "
            f"{len(summary.skipped)} skipped as duplicates; {screened_pages / seconds:.1f} pages/s (target >= 10)"
        )
        print(
            f"cache hits: {hits} of {len(copies)} documents had their extraction cached before the run; "
            f"{sum(cache.has_document(o.sha256, EXTRACTOR_VERSION) for o in ok)} are cached after it"
        )
        peaks = [
            max(rss for _, by_pid in samples for p, (rss, _direct) in by_pid.items() if p == pid)
            for pid in {p for _, by_pid in samples for p in by_pid}
        ]
        big = sorted(peaks, reverse=True)[: args.workers]
        print(
            f"peak resident memory of the {args.workers} largest processes: "
            + ", ".join(f"{mb:.0f} MB" for mb in big)
            + f"; workers' own high-water mark: {', '.join(f'{mb:.0f} MB' for mb in summary.worker_peak_rss_mb)} "
            "(target <= 1024 MB each)"
        )
        # each worker's resident memory when ready and between documents (flat: no higher after its last
        # document than after its first); a worker that grew by more than pool.RECYCLE_GROWTH_MB since it
        # was ready was replaced
        for i, (ready, *resident) in enumerate(r for r in summary.worker_resident_mb if len(r) > 1):
            tenth = max(1, len(resident) // 10)
            first, last = statistics.median(resident[:tenth]), statistics.median(resident[-tenth:])
            print(
                f"worker {i + 1}: {len(resident)} documents; resident MB when ready {ready:.0f}, between "
                f"documents: median of its first tenth {first:.0f}, of its last tenth {last:.0f} "
                f"({last - first:+.0f}), highest {max(resident):.0f}"
            )
        print(f"workers replaced because their memory grew: {summary.workers_replaced}")
        if samples:
            t0 = samples[0][0]
            span = max(samples[-1][0] - t0, 1e-9)
            tenths = [[by_pid for t, by_pid in samples if int(10 * (t - t0) / span) == k] for k in range(10)]
            # the page-range readers (the workers' children) at their highest in each tenth of the run
            readers = [
                max((sum(mb for mb, direct in s.values() if not direct) for s in tenth), default=0)
                for tenth in tenths
            ]
            print("readers' resident MB, highest in each tenth: " + " ".join(f"{mb:.0f}" for mb in readers))
        size = sum(f.stat().st_size for f in workspace.rglob("*") if f.is_file())
        db = sum(f.stat().st_size for f in workspace.glob("*.sqlite*"))
        print(
            f"workspace: {size / 2**20:.0f} MB on disk ({db / 2**20:.0f} MB database, the rest cache and JSON)"
        )

        one_each = copies[: len(sources)]
        extract_s, embed_s, passages, precision = floor(one_each, workspace / "cache", args.workers)
        floor_pages = sum(o.pages for o in ok if Path(o.path).name in {c.name for c in one_each})
        print(
            f"floor over one copy of each corpus file ({floor_pages} pages): extraction alone {extract_s:.1f} s + "
            f"embedding {passages} passages alone {embed_s:.1f} s ({precision}) = "
            f"{floor_pages / (extract_s + embed_s):.1f} pages/s; the screen ran at "
            f"{screened_pages / seconds:.1f} pages/s"
        )


if __name__ == "__main__":
    main()
