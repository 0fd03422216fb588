"""The file level: checking and hashing an input file; reading a text or Markdown strategy."""

from __future__ import annotations

import os
import re
from pathlib import Path

from evaluator.errors import InputError
from evaluator.files import file_sha256
from evaluator.stages.extract.text import clean_text
from evaluator.types import Block, Document, Line, Page

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
MAX_TEXT_BYTES = 20 << 20  # a .txt/.md strategy is far smaller; a bigger one is refused, not read into memory
_ZERO_BOX = (0.0, 0.0, 0.0, 0.0)
_MD_HEADING = re.compile(r"#{1,6}\s+(.*?)(\s+#+)?")


def check_file(path: str | os.PathLike[str], sha256: str | None = None) -> tuple[Path, bytes, str]:
    """The file, its first 1 KiB and its sha256, or an ``InputError`` saying why it cannot be a document
    (missing, a folder, an unsupported type, unreadable, empty). A known ``sha256`` (the caller hashed the
    file already) is taken as it is: each file is hashed once per document."""
    shown = os.fspath(path)
    file = Path(shown)
    if not file.exists():
        raise InputError(f"No such file: {shown}. Check the path.")
    if file.is_dir():
        raise InputError(f"{shown} is a directory, not a file; give the path of a PDF, .txt or .md file.")
    suffix = file.suffix.lower()
    if suffix != ".pdf" and suffix not in TEXT_SUFFIXES:
        kind = f"'{file.suffix}'" if file.suffix else "(no extension)"
        raise InputError(f"{shown} has an unsupported file type {kind}; use a .pdf, .txt or .md file.")
    try:
        with file.open("rb") as handle:
            head = handle.read(1024)
        size = file.stat().st_size
        sha256 = sha256 or file_sha256(file)
    except OSError as e:
        raise InputError(f"{shown} cannot be read ({e.strerror or e}); check the file permissions.") from None
    if size == 0:
        raise InputError(f"{shown} is empty (0 bytes); re-download or re-export it.")
    return file, head, sha256


def read_text_file(file: Path, shown: str, sha256: str) -> Document:
    with file.open("rb") as fh:
        raw = fh.read(MAX_TEXT_BYTES + 1)
    if len(raw) > MAX_TEXT_BYTES:
        raise InputError(
            f"{shown} is over {MAX_TEXT_BYTES >> 20} MB, too large for a text strategy; "
            "split it or check it is the right file."
        )
    warnings = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        warnings.append(f"{shown} is not UTF-8; it was read as Windows-1252")
    blocks: list[Block] = []
    para: list[Line] = []
    for raw_line in text.splitlines():
        line = clean_text(raw_line)
        heading = _MD_HEADING.fullmatch(line)
        if not line or heading:
            if para:
                blocks.append(Block(kind="text", lines=para))
                para = []
            if heading and heading.group(1):
                blocks.append(Block(kind="heading", lines=[Line(text=heading.group(1), bbox=_ZERO_BOX)]))
        else:
            para.append(Line(text=line, bbox=_ZERO_BOX))
    if para:
        blocks.append(Block(kind="text", lines=para))
    if not blocks:
        warnings.append(f"{shown} contains no text")
    title = next((b.text for b in blocks if b.kind == "heading"), file.stem)[:200]
    return Document(
        path=shown,
        sha256=sha256,
        kind="text",
        pages=[Page(number=None, blocks=blocks)],
        warnings=warnings,
        title=title,
    )
