"""Does a screening worker's memory stay flat over many distinct documents? Resident memory after each one.

    .venv/bin/python benchmarks/bench_memory.py [--corpus ../shared/corpus] [--rounds 3] [--variants shipped,...]
        [--per-document]

Each variant runs in a fresh process that does what a screen worker does (one torch thread, a cache
folder of its own, ``Pipeline.warm_up``), then assesses ``--rounds`` rounds of distinct copies of the
corpus's PDFs, one copy of each file per round, longest first as a screen hands them out
(``bench_scale.distinct_copy``: every page given its own line of text, so nothing is served from a
cache). Printed per variant: resident memory (VmRSS) after warm-up and at the end of each round (flat
memory: the same at the end of every round; ``--per-document``: after every document), the peak
(VmHWM), the CPU seconds of the assessments, the size of spaCy's vocabulary at the end, and whether
every assessment (levels, statuses, probabilities, cited passages) was the same as the first variant's.

Variants (what each process changes before its first document):
- ``shipped``: nothing, as a worker runs today;
- ``no-memory-zone``: spaCy's strings and lexemes of each document kept for the process's life (as
  before ``segment`` and ``kinds`` parsed inside ``nlp.memory_zone()``);
- ``mallopt``: glibc's allocator told to hand blocks of 1 MB or more straight back to the system
  (fixed ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD``) and to keep at most two arenas;
- ``tracemalloc``: as shipped, with Python's allocations traced (one frame) from after warm-up; also
  prints the memory Python allocated and still holds at the end of each round, to tell a growth of
  Python objects from native memory (torch, tokenizers, the allocator). Several times slower.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench_scale import distinct_copy
from common import corpus_parser, run_child

CHILD = """
import ctypes, json, os, sys, time
os.environ["OMP_NUM_THREADS"] = "1"
variant, cache_dir, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
if variant == "mallopt":
    libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
    libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)
    libc.mallopt(M_TRIM_THRESHOLD, 1 << 20)
    libc.mallopt(M_ARENA_MAX, 2)
import torch
torch.set_num_threads(1)
from evaluator.pipeline import Pipeline
from evaluator.stages import segment
from evaluator.stages.cache import Cache

if variant == "no-memory-zone":
    import contextlib
    from spacy.language import Language
    Language.memory_zone = lambda self, mem=None: contextlib.nullcontext()

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0

pipeline = Pipeline(cache=Cache(cache_dir))
pipeline.warm_up()
warm = status("VmRSS")
if variant == "tracemalloc":
    import gc, tracemalloc
    tracemalloc.start(1)
rss, calls, traced = [], [], []
cpu = time.process_time()
for path in paths:
    a = pipeline.assess(path)
    rss.append(status("VmRSS"))
    if variant == "tracemalloc":
        gc.collect()
        traced.append(tracemalloc.get_traced_memory()[0] / 2**20)
    calls.append([(h.level, [(d.status, d.probability, [e.passage_id for e in d.evidence])
                             for d in h.descriptors]) for h in a.hallmarks])
print(json.dumps({"warm": warm, "rss": rss, "peak": status("VmHWM"), "cpu": time.process_time() - cpu,
                  "lexemes": sum(1 for _ in segment.load_nlp().vocab), "calls": calls, "traced": traced}))
"""

VARIANTS = ("shipped", "no-memory-zone", "mallopt", "tracemalloc")


def run(variant: str, paths: list[Path]) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-memory-cache-") as cache:
        return run_child(CHILD, variant, cache, *map(str, paths))


def main() -> None:
    parser = corpus_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="copies of every corpus file, one round each")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS[:3]), help=f"comma-separated: {', '.join(VARIANTS)}"
    )
    parser.add_argument("--per-document", action="store_true", help="resident memory after every document")
    args = parser.parse_args()
    sources = sorted(Path(args.corpus).glob("*.pdf"), key=lambda p: (-page_count(p), p.name))
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        paths, pages = [], 0
        for round_ in range(args.rounds):
            for i, source in enumerate(sources):
                n = round_ * len(sources) + i
                out = Path(tmp) / f"copy-{n:03d}.pdf"
                pages += distinct_copy(source, out, n)
                paths.append(out)
        print(
            f"{args.rounds} rounds of {len(sources)} distinct documents ({pages} pages in all), "
            "one worker-like process per variant; resident MB at the end of each round, the peak"
        )
        first_calls = None
        for variant in args.variants.split(","):
            r = run(variant, paths)
            first_calls = first_calls or r["calls"]
            ends = [(k + 1) * len(sources) - 1 for k in range(args.rounds)]
            rounds = [r["rss"][i] for i in ends]
            print(
                f"  {variant:15s} after warm-up {r['warm']:5.0f}; rounds "
                + " ".join(f"{mb:5.0f}" for mb in rounds)
                + f" (last - first {rounds[-1] - rounds[0]:+4.0f}); peak {r['peak']:5.0f}; "
                f"{r['cpu']:4.0f} CPU s; {r['lexemes']:,} lexemes at the end; "
                f"{'the same' if r['calls'] == first_calls else 'NOT the same'} levels, statuses, "
                "probabilities and cited passages as the first variant"
            )
            if r["traced"]:
                held = " / ".join(f"{r['traced'][i]:.1f}" for i in ends)
                print(f"{'':18s}memory Python allocated and still holds at the end of each round: {held} MB")
            if args.per_document:
                print(f"{'':18s}after each document: " + " ".join(f"{mb:.0f}" for mb in r["rss"]))


def page_count(path: Path) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return len(pdf)
    finally:
        pdf.close()


if __name__ == "__main__":
    main()
