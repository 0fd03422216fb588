"""Builders for review/export tests: a small real PDF (reportlab) and Assessments that cite it.

The assessments are made directly (no model): every hallmark gets one descriptor per level, and a
few descriptors cite real passages of the PDF with the boxes pdfplumber finds for them.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evaluator.types import (
    HALLMARK_IDS,
    Assessment,
    Closest,
    DescriptorResult,
    DocumentInfo,
    Evidence,
    HallmarkResult,
    Provenance,
    Searched,
)
from evaluator.workspace.store import Workspace

XSS = "<script>alert(1)</script>"
LINES = {
    1: [
        "Our strategy puts wellbeing first.",
        "Wellbeing is more than the absence of illness.",
        "We will measure life satisfaction every year.",
    ],
    2: [
        "Partners share one outcomes framework.",
        f"Residents told us {XSS} matters.",
        "Community assets are mapped by every ward.",
    ],
}


def make_pdf(path: Path, title: str = "Northby Health and Wellbeing Strategy") -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle(title)
    for page in sorted(LINES):
        c.setFont("Helvetica-Bold", 16)
        c.drawString(72, 780, f"{title} - page {page}")
        c.setFont("Helvetica", 11)
        for i, line in enumerate(LINES[page]):
            c.drawString(72, 720 - 40 * i, line)
        c.showPage()
    c.save()
    return path


def find_box(pdf: Path, page: int, text: str) -> tuple[float, float, float, float]:
    import pdfplumber

    with pdfplumber.open(pdf) as doc:
        hit = doc.pages[page - 1].search(text, regex=False)[0]
    return (hit["x0"], hit["top"], hit["x1"], hit["bottom"])


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_assessment(
    pdf: Path,
    *,
    levels: dict[str, str] | None = None,
    title: str = "Northby HWB Strategy",
    sha256: str | None = None,
    confidence: float = 0.8,
) -> Assessment:
    levels = levels or {}
    cited = {
        "1.A.1": (1, LINES[1][1]),
        "1.O.1": (1, LINES[1][2]),
        "2.A.1": (2, LINES[2][1]),
        "3a.A.1": (2, LINES[2][0]),
    }
    from evaluator.rubric import load_rubric
    from evaluator.stages.kinds import classify

    texts = sorted({text for _, text in cited.values()})
    kinds = dict(zip(texts, classify(texts), strict=True))  # the real parser, as the pipeline sets them
    rubric = load_rubric()
    hallmarks = []
    for n, hid in enumerate(HALLMARK_IDS):
        descriptors = []
        for letter in "AOM":
            did = f"{hid}.{letter}.1"
            evidence = []
            if did in cited:
                page, text = cited[did]
                evidence.append(
                    Evidence(
                        page=page,
                        text=text,
                        bbox=find_box(pdf, page, text),
                        score=0.9,
                        passage_id=f"p{page}-b0-s0",
                        kind=kinds[text],
                    )
                )
            status = "met" if evidence else ("partial" if letter == "A" else "not_met")
            searched = None
            if status == "not_met":
                wording = rubric.descriptor(did)
                searched = Searched(
                    queries=[wording.text, *wording.queries],
                    cues=list(wording.cues),
                    passages_considered=4,
                    passages_total=6,
                    closest=[Closest(page=1, text=LINES[1][0], score=0.21, passage_id="p1-b0-s0")],
                )
            descriptors.append(
                DescriptorResult(
                    id=did,
                    status=status,
                    probability=0.9 if evidence else 0.3,
                    evidence=evidence,
                    searched=searched,
                )
            )
        hallmarks.append(
            HallmarkResult(
                id=hid,
                level=levels.get(hid, "assuring"),
                confidence=confidence,
                needs_review=n % 3 == 0,
                descriptors=descriptors,
            )
        )
    return Assessment(
        document=DocumentInfo(path=str(pdf), sha256=sha256 or sha256_of(pdf), pages=len(LINES), title=title),
        provenance=Provenance(
            tool_version="0.1.0",
            rubric_id="wwcw-maturity",
            rubric_version="1",
            model_name="fake-encoder",
            model_hash="0" * 64,
            extractor="pdfplumber",
            judge="test-judge",
            created_at="2024-01-01T00:00:00+00:00",
        ),
        hallmarks=hallmarks,
    )


def make_workspace(
    root: Path, *, documents: int = 1, database: str | None = None
) -> tuple[Workspace, list[Assessment]]:
    """A workspace with ``documents`` screened PDFs (distinct files, so distinct sha256); on PostgreSQL
    when ``database`` is a URL."""
    ws = Workspace(root / "ws", database=database)
    out = []
    for i in range(documents):
        pdf = make_pdf(root / f"strategy-{i}.pdf", title=f"Northby Strategy {i}")
        a = make_assessment(pdf, title=f"Northby Strategy {i}", confidence=0.5 + 0.2 * i)
        ws.save_assessment(a, cache_key=f"test-{i}")
        out.append(a)
    return ws, out


def workspace_args(ws: Workspace) -> list[str]:
    """The command-line options that name this workspace, on either backend."""
    return ["--workspace", str(ws.root)] + (["--database", ws.database] if ws.database else [])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(app) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "review server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
