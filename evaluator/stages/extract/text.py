"""Text clean-up shared by every reader: Unicode normalisation, unreadable characters."""

from __future__ import annotations

import re
import unicodedata

_CID = re.compile(r"\(cid:\d+\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff\ufffd]")
_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """NFKC (which also splits ligatures), drop control characters, (cid:N) and U+FFFD, collapse spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub("\u00ad$", "-", text.rstrip())  # a soft hyphen at a line end is a hyphenation point
    text = _CONTROL.sub("", _CID.sub("", text.replace("\u00ad", "")))
    return _SPACES.sub(" ", text).strip()


def unreadable_ratio(raw: str) -> float:
    raw = _CID.sub("\ufffd", _SPACES.sub("", raw))  # each (cid:N) counts as one character
    return raw.count("\ufffd") / len(raw) if raw else 0.0
