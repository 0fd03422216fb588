"""Gold label loading: the shape, one-line errors naming file and field, document look-up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import SHARED

from evaluator.errors import EvaluatorError
from evaluator.evaluation.gold import GoldLabel, find_document, load_gold

VALID = {
    "doc_id": "tiny",
    "kind": "hws",
    "labelled_by": "a test",
    "descriptors": {
        "1.A.1": {"judgement": "met", "pages": [2], "quote": "Wellbeing is not health.", "alt_quote": ""},
        "1.A.2": {"judgement": "not_met", "pages": [], "quote": "", "alt_quote": ""},
    },
    "hallmarks": {"1": {"level": "assuring", "rationale": "defined"}},
}


def _write(folder: Path, data, name: str = "tiny.json") -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_load_gold_reads_valid_file(tmp_path):
    _write(tmp_path, VALID)
    gold = load_gold(tmp_path)
    assert list(gold) == ["tiny"]
    label = gold["tiny"]
    assert isinstance(label, GoldLabel)
    assert label.descriptors["1.A.1"].judgement == "met" and label.descriptors["1.A.1"].pages == [2]
    assert label.hallmarks["1"].level == "assuring"


@pytest.mark.parametrize(
    "data, expected",
    [
        ({**VALID, "descriptors": {"1.A.1": {"judgement": "yes"}}}, "field descriptors.1.A.1.judgement"),
        ({**VALID, "hallmarks": {"1": {"level": "excellent"}}}, "field hallmarks.1.level"),
        ({**VALID, "hallmarks": {"9": {"level": "none"}}}, "field hallmarks"),
        ({k: v for k, v in VALID.items() if k != "descriptors"}, "field descriptors"),
        (
            {**VALID, "descriptors": {"1.A.1": {"judgement": "met", "pages": [0]}}},
            "field descriptors.1.A.1.pages",
        ),
        ({**VALID, "doc_id": "other"}, "field doc_id"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_gold_file_raises_one_line_error_naming_file_and_field(tmp_path, data, expected):
    path = _write(tmp_path, data)
    with pytest.raises(EvaluatorError) as info:
        load_gold(tmp_path)
    message = str(info.value)
    assert str(path) in message and expected in message
    assert "\n" not in message


def test_missing_gold_folder(tmp_path):
    with pytest.raises(EvaluatorError, match="gold label folder not found"):
        load_gold(tmp_path / "nowhere")


def test_find_document_prefers_pdf_then_txt_then_md(tmp_path):
    assert find_document(tmp_path, "doc") is None
    (tmp_path / "doc.md").write_text("# doc")
    assert find_document(tmp_path, "doc") == tmp_path / "doc.md"
    (tmp_path / "doc.txt").write_text("doc")
    assert find_document(tmp_path, "doc") == tmp_path / "doc.txt"
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4")
    assert find_document(tmp_path, "doc") == tmp_path / "doc.pdf"


@pytest.mark.skipif(not (SHARED / "gold").is_dir(), reason="shared gold labels not present")
def test_real_gold_loads_and_every_label_has_a_document():
    gold = load_gold(SHARED / "gold")
    assert len(gold) >= 10
    for doc_id, label in gold.items():
        assert len(label.descriptors) == 57 and len(label.hallmarks) == 7
        assert find_document(SHARED / "corpus", doc_id) is not None
