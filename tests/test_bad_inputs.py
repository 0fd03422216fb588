"""Promise: any file that cannot be read as a document raises InputError with ONE line that says
what is wrong and what to do - never a traceback, never a partial result."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import FIXTURE_PDFS as PDFS

from evaluator.errors import InputError
from evaluator.stages.extract import extract


def _message(path: Path | str) -> str:
    with pytest.raises(InputError) as info:
        extract(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


BAD_FIXTURES = {
    "empty.pdf": "{p} is empty (0 bytes); re-download or re-export it.",
    "random-bytes.pdf": "{p} is not a PDF (no %PDF- header); check that you have the right file.",
    "html-saved-as.pdf": "{p} is not a PDF but a web page (HTML) saved as .pdf; download the PDF itself.",
    "password.pdf": "{p} is password-protected; save an unprotected copy and try again.",
    "truncated.pdf": (
        "{p} could not be parsed as a PDF (corrupt or truncated): PSEOF: Unexpected EOF. "
        "Re-download or re-export it."
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FIXTURES))
def test_bad_pdf_gives_one_line_input_error(name: str) -> None:
    """Empty, random, HTML-as-PDF, password-protected and truncated files each get their own message."""
    path = PDFS / name
    assert _message(path) == BAD_FIXTURES[name].format(p=path)


def test_missing_file_says_check_the_path(tmp_path: Path) -> None:
    """A path that does not exist is reported as such."""
    path = tmp_path / "nowhere.pdf"
    assert _message(path) == f"No such file: {path}. Check the path."


def test_directory_is_not_a_document(tmp_path: Path) -> None:
    """Passing a folder says it is a folder and what to pass instead."""
    assert (
        _message(tmp_path)
        == f"{tmp_path} is a directory, not a file; give the path of a PDF, .txt or .md file."
    )


@pytest.mark.parametrize("filename, shown", [("strategy.docx", "'.docx'"), ("strategy", "(no extension)")])
def test_unsupported_file_type_lists_what_is_supported(tmp_path: Path, filename: str, shown: str) -> None:
    """Only .pdf, .txt, .md and .markdown are read; anything else names the supported types."""
    path = tmp_path / filename
    path.write_bytes(b"PK\x03\x04 not really a docx")
    assert _message(path) == f"{path} has an unsupported file type {shown}; use a .pdf, .txt or .md file."


def test_empty_text_file_is_reported_as_empty(tmp_path: Path) -> None:
    """A 0-byte .txt file is an error, like a 0-byte PDF."""
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert _message(path) == f"{path} is empty (0 bytes); re-download or re-export it."


def test_uppercase_pdf_extension_and_odd_file_name_are_read(tmp_path: Path) -> None:
    """A good PDF is read whatever its name: spaces, accents, '.PDF'."""
    good = PDFS / "file with spaces é.pdf"
    copy = tmp_path / "Copy OF é strategy.PDF"
    shutil.copy(good, copy)
    for path in (good, copy):
        doc = extract(path)
        assert doc.pages[0].text == "A file name with spaces and an accent is read like any other."


def test_non_utf8_text_file_is_read_with_a_warning(tmp_path: Path) -> None:
    """A Windows-1252 text file is still read; the document warns about the encoding."""
    path = tmp_path / "legacy.txt"
    path.write_bytes("Caf\u00e9 wellbeing \u2013 \u00a35 a week.".encode("cp1252"))
    doc = extract(path)
    assert doc.pages[0].text == "Caf\u00e9 wellbeing \u2013 \u00a35 a week."
    assert doc.warnings == [f"{path} is not UTF-8; it was read as Windows-1252"]


def test_pdf_with_missing_eof_marker_is_read_with_a_warning(tmp_path: Path) -> None:
    """A PDF that parses but lacks its %%EOF trailer is read, with a possibly-truncated warning."""
    data = (PDFS / "heading.pdf").read_bytes()
    path = tmp_path / "no-eof.pdf"
    path.write_bytes(data[: data.rindex(b"%%EOF")])
    doc = extract(path)
    assert "Starting Well in Northmoor" in doc.pages[0].text
    assert doc.warnings == [
        f"{path} may be truncated (no %%EOF marker at the end); some pages may be missing"
    ]
