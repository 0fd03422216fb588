#!/usr/bin/env python
"""Render the sample Health and Wellbeing Strategies in corpus/sources/*.md to corpus/<doc_id>.pdf.

Usage:
    .venv/bin/python corpus/make_corpus.py            # regenerate every PDF
    .venv/bin/python corpus/make_corpus.py --check    # render to a temp dir, compare bytes, exit 1 if stale
    .venv/bin/python corpus/make_corpus.py DOC_ID ... # regenerate only these documents

The places, people and figures in the sources are fictional. Output is deterministic (reportlab
invariant mode: fixed dates and document ids), so the committed PDFs can be checked byte for byte
against their sources with the same reportlab version.

Source format (a small Markdown subset):
    ---                     front matter: title, subtitle, place, publisher, date,
    key: value              layout (one-column | two-column)
    ---
    # Heading / ## Heading / ### Heading
    paragraph lines (joined; a line ending in a backslash forces a line break)
    - bullet item           1. numbered item
    | pipe | table |        (first row is the header; the |---| separator row is skipped)
    **bold**, *italic*
Text must be Latin-1 (the standard Helvetica font is used); anything else is rejected.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import getAscent, stringWidth
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

CORPUS = Path(__file__).resolve().parent
SOURCES = CORPUS / "sources"

PAGE_W, PAGE_H = A4
MARGIN_X = 22 * mm
MARGIN_TOP = 24 * mm
MARGIN_BOTTOM = 22 * mm
GUTTER = 8 * mm
ACCENT = colors.HexColor("#1F5C73")
GREY = colors.HexColor("#555555")
RULE = colors.HexColor("#9AA5AB")


# --------------------------------------------------------------------------- parsing


@dataclass
class Block:
    kind: str  # h1 h2 h3 p ul ol table
    text: str = ""
    items: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Source:
    doc_id: str
    meta: dict[str, str]
    blocks: list[Block]


def check_latin1(text: str, where: str) -> None:
    for lineno, line in enumerate(text.splitlines(), 1):
        for ch in line:
            if ord(ch) > 255:
                raise ValueError(f"{where}:{lineno}: non-Latin-1 character {ch!r} (U+{ord(ch):04X})")


def parse_source(path: Path) -> Source:
    raw = path.read_text(encoding="utf-8")
    check_latin1(raw, str(path))
    lines = raw.splitlines()
    meta: dict[str, str] = {}
    i = 0
    if lines and lines[0].strip() == "---":
        i = 1
        while i < len(lines) and lines[i].strip() != "---":
            if lines[i].strip():
                key, _, value = lines[i].partition(":")
                meta[key.strip()] = value.strip()
            i += 1
        i += 1
    for key in ("title", "place", "publisher", "date"):
        if key not in meta:
            raise ValueError(f"{path}: front matter lacks {key!r}")
    meta.setdefault("layout", "one-column")
    if meta["layout"] not in ("one-column", "two-column"):
        raise ValueError(f"{path}: layout must be one-column or two-column")

    blocks: list[Block] = []
    para: list[str] = []

    def flush_para() -> None:
        if para:
            text = ""
            for line in para:
                if line.endswith("\\"):
                    text += line[:-1].rstrip() + "\n"
                else:
                    text += line + " "
            blocks.append(Block("p", text.strip()))
            para.clear()

    while i < len(lines):
        line = lines[i].rstrip()
        stripped = line.strip()
        m_head = re.match(r"^(#{1,3})\s+(.*)$", stripped)
        m_ul = re.match(r"^[-*]\s+(.*)$", stripped)
        m_ol = re.match(r"^\d+\.\s+(.*)$", stripped)
        if not stripped:
            flush_para()
        elif m_head:
            flush_para()
            blocks.append(Block("h" + str(len(m_head.group(1))), m_head.group(2).strip()))
        elif m_ul or m_ol:
            flush_para()
            kind = "ul" if m_ul else "ol"
            item = (m_ul or m_ol).group(1)
            if blocks and blocks[-1].kind == kind and i > 0 and lines[i - 1].strip():
                blocks[-1].items.append(item)
            else:
                blocks.append(Block(kind, items=[item]))
        elif stripped.startswith("|"):
            flush_para()
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
                i += 1
                continue
            if blocks and blocks[-1].kind == "table" and i > 0 and lines[i - 1].strip().startswith("|"):
                blocks[-1].rows.append(cells)
            else:
                blocks.append(Block("table", rows=[cells]))
        else:
            para.append(stripped if not line.endswith("\\") else line.strip())
        i += 1
    flush_para()
    for b in blocks:
        if b.kind == "table":
            width = len(b.rows[0])
            if any(len(r) != width for r in b.rows):
                raise ValueError(f"{path}: table rows have unequal cell counts: {b.rows[0]}")
    return Source(path.stem, meta, blocks)


def inline(text: str) -> str:
    """Markdown inline markup -> reportlab paragraph markup."""
    out = escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"<i>\1</i>", out)
    return out.replace("\n", "<br/>")


# --------------------------------------------------------------------------- styles


def make_styles(two_column: bool) -> dict[str, ParagraphStyle]:
    size = 9.5 if two_column else 10.5
    body = ParagraphStyle(
        "body",
        fontName="Helvetica",
        fontSize=size,
        leading=size * 1.38,
        spaceAfter=size * 0.6,
        alignment=TA_LEFT,
    )
    return {
        "body": body,
        "h1": ParagraphStyle(
            "h1",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=17 if not two_column else 15,
            leading=21 if not two_column else 18,
            textColor=ACCENT,
            spaceBefore=14,
            spaceAfter=8,
            keepWithNext=1,
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=13 if not two_column else 12,
            leading=16 if not two_column else 15,
            textColor=ACCENT,
            spaceBefore=10,
            spaceAfter=5,
            keepWithNext=1,
        ),
        "h3": ParagraphStyle(
            "h3",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=size + 0.5,
            leading=(size + 0.5) * 1.3,
            spaceBefore=6,
            spaceAfter=3,
            keepWithNext=1,
        ),
        "li": ParagraphStyle(
            "li",
            parent=body,
            leftIndent=14,
            bulletIndent=3,
            spaceAfter=size * 0.3,
            bulletFontName="Helvetica",
        ),
        "cell": ParagraphStyle(
            "cell", parent=body, fontSize=size - 1.5, leading=(size - 1.5) * 1.25, spaceAfter=0
        ),
        "cellhead": ParagraphStyle(
            "cellhead",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=size - 1.5,
            leading=(size - 1.5) * 1.25,
            spaceAfter=0,
        ),
        "t_place": ParagraphStyle(
            "t_place", fontName="Helvetica-Bold", fontSize=15, leading=19, textColor=colors.white
        ),
        "t_title": ParagraphStyle(
            "t_title", fontName="Helvetica-Bold", fontSize=28, leading=34, textColor=ACCENT, spaceAfter=14
        ),
        "t_sub": ParagraphStyle(
            "t_sub", fontName="Helvetica", fontSize=16, leading=21, textColor=GREY, spaceAfter=40
        ),
        "t_meta": ParagraphStyle("t_meta", fontName="Helvetica", fontSize=12, leading=17, textColor=GREY),
        "t_note": ParagraphStyle(
            "t_note", fontName="Helvetica-Oblique", fontSize=8.5, leading=11, textColor=GREY
        ),
    }


class BulletParagraph(Paragraph):
    """A list item whose bullet is a drawn disc, not a glyph.

    The standard fonts' bullet (U+2022) has no text mapping and extracts as "(cid:127)"; a drawn disc
    keeps the extracted text clean.
    """

    def draw(self):
        super().draw()
        fs = self.style.fontSize
        # where Paragraph.draw puts the first baseline
        baseline = self.height - (
            fs if rl_config.paraFontSizeHeightOffset else getAscent(self.style.fontName, fs)
        )
        c = self.canv
        c.saveState()
        c.setFillColor(colors.black)
        c.circle(self.style.bulletIndent + fs * 0.2, baseline + fs * 0.32, fs * 0.17, stroke=0, fill=1)
        c.restoreState()


def table_flowable(rows: list[list[str]], width: float, styles: dict[str, ParagraphStyle]) -> Table:
    ncols = len(rows[0])
    pad = 8 + 1  # left + right padding, plus a little slack
    size = styles["cell"].fontSize
    # each column needs at least its longest word; spare width goes where the text is longest
    min_w, pref_w = [], []
    for c in range(ncols):
        words = [w for r in rows for w in re.sub(r"\*", "", r[c]).split()] or [""]
        min_w.append(max(stringWidth(w, "Helvetica-Bold", size) for w in words) + pad)
        pref_w.append(max(stringWidth(re.sub(r"\*", "", r[c]), "Helvetica-Bold", size) for r in rows) + pad)
    if sum(pref_w) <= width:
        col_widths = [width * w / sum(pref_w) for w in pref_w]
    elif sum(min_w) >= width:
        col_widths = [width * w / sum(min_w) for w in min_w]
    else:
        spare = width - sum(min_w)
        extra = [p - m for p, m in zip(pref_w, min_w, strict=True)]
        col_widths = [m + spare * e / sum(extra) for m, e in zip(min_w, extra, strict=True)]
    data = [
        [Paragraph(inline(cell), styles["cellhead" if r == 0 else "cell"]) for cell in row]
        for r, row in enumerate(rows)
    ]
    t = Table(data, colWidths=col_widths, repeatRows=1, hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, RULE),
                ("LINEBELOW", (0, 0), (-1, 0), 1.0, ACCENT),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E4EEF2")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return t


# --------------------------------------------------------------------------- layout


class StrategyDoc(BaseDocTemplate):
    def __init__(self, filename: str, src: Source):
        self.src = src
        super().__init__(
            filename,
            pagesize=A4,
            leftMargin=MARGIN_X,
            rightMargin=MARGIN_X,
            topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM,
            title=src.meta["title"],
            author=src.meta["publisher"],
            subject="Fictional sample Health and Wellbeing Strategy (wellbeing-evaluator corpus)",
            creator="wellbeing-evaluator corpus/make_corpus.py",
            invariant=1,
            pageCompression=1,
        )
        full = Frame(
            MARGIN_X,
            MARGIN_BOTTOM,
            PAGE_W - 2 * MARGIN_X,
            PAGE_H - MARGIN_TOP - MARGIN_BOTTOM,
            id="full",
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        title_frame = Frame(
            MARGIN_X,
            MARGIN_BOTTOM,
            PAGE_W - 2 * MARGIN_X,
            PAGE_H - 95 * mm,
            id="title",
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        col_w = (PAGE_W - 2 * MARGIN_X - GUTTER) / 2
        col_h = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM
        left = Frame(
            MARGIN_X,
            MARGIN_BOTTOM,
            col_w,
            col_h,
            id="left",
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        right = Frame(
            MARGIN_X + col_w + GUTTER,
            MARGIN_BOTTOM,
            col_w,
            col_h,
            id="right",
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        self.two_column = src.meta["layout"] == "two-column"
        self.body_width = col_w if self.two_column else PAGE_W - 2 * MARGIN_X
        self.addPageTemplates(
            [
                PageTemplate(id="title", frames=[title_frame], onPage=self.draw_title_page),
                PageTemplate(
                    id="body",
                    frames=[left, right] if self.two_column else [full],
                    onPage=self.draw_running_furniture,
                ),
            ]
        )

    def draw_title_page(self, canvas, doc) -> None:
        canvas.saveState()
        canvas.setFillColor(ACCENT)
        canvas.rect(0, PAGE_H - 62 * mm, PAGE_W, 62 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont("Helvetica-Bold", 16)
        canvas.drawString(MARGIN_X, PAGE_H - 30 * mm, self.src.meta["publisher"])
        canvas.setFont("Helvetica", 11)
        canvas.drawString(MARGIN_X, PAGE_H - 38 * mm, self.src.meta["date"])
        canvas.restoreState()

    def draw_running_furniture(self, canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8.5)
        canvas.setFillColor(GREY)
        y = PAGE_H - MARGIN_TOP + 9 * mm
        canvas.drawString(MARGIN_X, y, self.src.meta["title"])
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_X, y - 2.5 * mm, PAGE_W - MARGIN_X, y - 2.5 * mm)
        fy = MARGIN_BOTTOM - 11 * mm
        canvas.line(MARGIN_X, fy + 4 * mm, PAGE_W - MARGIN_X, fy + 4 * mm)
        canvas.drawString(MARGIN_X, fy, self.src.meta["publisher"])
        canvas.drawRightString(PAGE_W - MARGIN_X, fy, f"Page {doc.page}")
        canvas.restoreState()


def build_story(doc: StrategyDoc) -> list:
    src = doc.src
    st = make_styles(doc.two_column)
    story: list = [
        Spacer(1, 6 * mm),
        Paragraph(escape(src.meta["title"]), st["t_title"]),
    ]
    if src.meta.get("subtitle"):
        story.append(Paragraph(escape(src.meta["subtitle"]), st["t_sub"]))
    story += [
        Paragraph(escape(src.meta["place"]), st["t_meta"]),
        Paragraph(escape(src.meta["publisher"]), st["t_meta"]),
        Paragraph(escape(src.meta["date"]), st["t_meta"]),
        Spacer(1, 70 * mm),
        Paragraph(
            "This is a fictional sample document written for the wellbeing-evaluator project. "
            "The place, the organisations, the people and all figures in it are invented.",
            st["t_note"],
        ),
        NextPageTemplate("body"),
        PageBreak(),
    ]
    first_h1 = True
    for b in src.blocks:
        if b.kind == "h1":
            if not first_h1:
                story.append(CondPageBreak(60 * mm))
            first_h1 = False
            story.append(Paragraph(inline(b.text), st["h1"]))
        elif b.kind in ("h2", "h3"):
            story.append(Paragraph(inline(b.text), st[b.kind]))
        elif b.kind == "p":
            story.append(Paragraph(inline(b.text), st["body"]))
        elif b.kind in ("ul", "ol"):
            for n, item in enumerate(b.items, 1):
                if b.kind == "ul":
                    story.append(BulletParagraph(inline(item), st["li"]))
                else:
                    story.append(Paragraph(inline(item), st["li"], bulletText=f"{n}."))
            story.append(Spacer(1, st["body"].spaceAfter * 0.6))
        elif b.kind == "table":
            story.append(table_flowable(b.rows, doc.body_width, st))
            story.append(Spacer(1, 8))
        else:  # pragma: no cover
            raise AssertionError(b.kind)
    return story


def render(src_path: Path, out_path: Path) -> None:
    src = parse_source(src_path)
    doc = StrategyDoc(str(out_path), src)
    doc.build(build_story(doc))


def source_paths(selected: list[str] | None = None) -> list[Path]:
    paths = sorted(SOURCES.glob("*.md"))
    if selected:
        wanted = set(selected)
        paths = [p for p in paths if p.stem in wanted]
        missing = wanted - {p.stem for p in paths}
        if missing:
            raise SystemExit(f"no source for: {', '.join(sorted(missing))}")
    return paths


def check(selected: list[str] | None = None) -> list[str]:
    """Render into a temp dir; return the doc_ids whose committed PDF is missing or differs."""
    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in source_paths(selected):
            fresh = Path(tmp) / f"{path.stem}.pdf"
            render(path, fresh)
            committed = CORPUS / f"{path.stem}.pdf"
            if not committed.exists() or committed.read_bytes() != fresh.read_bytes():
                stale.append(path.stem)
    return stale


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("doc_ids", nargs="*", help="render only these documents (default: all)")
    ap.add_argument("--check", action="store_true", help="verify the PDFs are up to date; write nothing")
    args = ap.parse_args(argv)
    if args.check:
        stale = check(args.doc_ids)
        if stale:
            print("out of date: " + ", ".join(stale) + " (run .venv/bin/python corpus/make_corpus.py)")
            return 1
        print(f"{len(source_paths(args.doc_ids))} PDFs up to date")
        return 0
    for path in source_paths(args.doc_ids):
        out = CORPUS / f"{path.stem}.pdf"
        render(path, out)
        print(f"wrote {out.relative_to(CORPUS.parent)} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
