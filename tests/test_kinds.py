"""Evidence kinds (issue 16): what each cited passage is, what was searched when nothing was found, and
the targets a strategy sets. Real spaCy model, real PDFs, the real pipeline where it matters."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from support import REPO, SAMPLE_CORPUS, SHARED_CORPUS

from evaluator.cli import main
from evaluator.evaluation.kinds import default_labels_path, kind_agreement, load_labels
from evaluator.rubric import load_rubric
from evaluator.stages.cache import Cache, default_cache_dir
from evaluator.stages.extract import extract
from evaluator.stages.kinds import classify, find_targets
from evaluator.stages.segment import segment
from evaluator.types import KINDS, Assessment
from evaluator.workspace import targets as tt

INTENDED = SAMPLE_CORPUS / "intended_targets.tsv"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Raise average life satisfaction to at least 7.7 by 2035.", "target"),
        ("The number of people aged 85 and over is projected to increase by 45% by 2035.", "data"),
        ("We will publish the results for every ward each year.", "commitment"),
        ("The Board is committed to reducing loneliness.", "commitment"),
        ("In 2023 we consulted 1,200 residents at twelve workshops.", "method"),
        ("Life satisfaction in the county was 7.4 out of 10 in 2022/23.", "data"),
        ("Wellbeing is more than the absence of illness.", "mention"),
        # read from the words around a number and the subject, without spaCy's entity recogniser
        ("In 2018/19 there were 1233 referrals to the service.", "data"),
        ("Timely diagnosis, a care plan and a review within the first year.", "mention"),  # an ordinal
        ("Offer NHS Health Checks to adults aged 40 to 74.", "commitment"),  # an age, not a figure
        ("LLBS will prioritise connection and belonging as core outcomes of its work.", "commitment"),
    ],
)
def test_kind_of_a_sentence_comes_from_its_parse(text, kind):
    assert classify([text]) == [kind]


def test_kinds_agree_with_the_hand_labelled_passages():
    """The issue's bar: accuracy >= 0.85 and target recall >= 0.90 over ~330 passages labelled by hand.
    Documents come from the session's cache, as `evaluator evaluate` reads them (extracted if not there)."""
    labels = load_labels(default_labels_path())
    folders = [SAMPLE_CORPUS] + ([SHARED_CORPUS] if SHARED_CORPUS.is_dir() else [])
    report = kind_agreement(labels, folders, Cache(default_cache_dir()))
    if not SHARED_CORPUS.is_dir():
        pytest.skip("../shared/corpus not available (beside the repo in CI)")
    assert not report.not_found, "labelled passages no longer cut by the segmenter"
    assert report.n == len(labels) >= 200
    assert report.accuracy >= 0.85, report.markdown()
    assert (report.recall("target") or 0) >= 0.90, report.markdown()
    assert all(report.support(k) >= 20 for k in KINDS)


def test_kind_agreement_reads_a_document_once_per_cache(tmp_path, monkeypatch):
    """`evaluator evaluate` scores the kinds on documents its analysis has read: with the cache they are
    not extracted again, and the figures are the same as from a fresh reading."""
    import evaluator.stages.extract as extract_module

    labels = [lab for lab in load_labels(default_labels_path()) if lab.doc == "saltmarsh-bay-connection-2024"]
    assert labels, "tests/expectations/kinds.tsv labels passages of the Saltmarsh Bay sample"
    cache = Cache(tmp_path / "cache")
    fresh = kind_agreement(labels, [SAMPLE_CORPUS], cache)
    read_pdf, read = extract_module.read_pdf, []
    monkeypatch.setattr(extract_module, "read_pdf", lambda *a, **k: read.append(1) or read_pdf(*a, **k))
    again = kind_agreement(labels, [SAMPLE_CORPUS], cache)
    assert read == [] and fresh.n == again.n == len(labels)
    assert (again.correct, again.confusion) == (fresh.correct, fresh.confusion)
    assert kind_agreement(labels, [SAMPLE_CORPUS]).confusion == fresh.confusion and read == [1]


def _intended() -> dict[str, list[dict]]:
    lines = [line for line in INTENDED.read_text().splitlines() if not line.startswith("#")]
    out: dict[str, list[dict]] = {}
    for row in csv.DictReader(lines, delimiter="\t"):
        out.setdefault(row["doc_id"], []).append(row)
    return out


@pytest.mark.parametrize("doc_id", sorted(_intended()))
def test_targets_table_lists_each_intended_target(doc_id):
    targets = find_targets(segment(extract(SAMPLE_CORPUS / f"{doc_id}.pdf")))
    for want in _intended()[doc_id]:
        found = [
            t
            for t in targets
            if want["indicator"].lower() in (t.indicator + " " + t.text).lower()
            and t.direction == want["direction"]
            and (want["number"] == "" or t.number.replace(".0%", "%") == want["number"])
        ]
        assert found, (
            f"{doc_id}: no target {want} among {[(t.indicator, t.number, t.direction) for t in targets]}"
        )
    assert all(t.page and t.text for t in targets)


@pytest.mark.model
def test_assessment_says_what_each_passage_is_and_what_was_searched(real_pipeline):
    a = real_pipeline.assess(SAMPLE_CORPUS / "northmoor-hws-2024.pdf")
    rubric = load_rubric()
    evidence = [e for d in a.descriptor_results().values() for e in d.evidence]
    assert evidence and all(e.kind in KINDS for e in evidence)
    not_met = [d for d in a.descriptor_results().values() if d.status == "not_met"]
    assert not_met
    for d in a.descriptor_results().values():
        if d.status != "not_met":
            assert d.searched is None
            continue
        s = d.searched
        wording = rubric.descriptor(d.id)
        assert s is not None and s.queries == [wording.text, *wording.queries] and s.cues == wording.cues
        assert 0 <= s.passages_considered <= s.passages_total and s.passages_total > 20
        assert set(s.cues_found) <= {c.lower() for c in s.cues} | set(s.cues_found)
        assert [c.text for c in s.closest] == [e.text for e in d.evidence]
    assert {t.number for t in a.targets} >= {"12%", "80%"}
    assert a.provenance.kinds
    # the Markdown says it too
    from evaluator.assessment_report import assessment_markdown

    md = assessment_markdown(a, rubric)
    assert "closest (not evidence)" in md and "## Targets" in md
    assert any(f"[{k}]" in md for k in KINDS)


def test_assessments_made_before_kinds_still_load():
    old = json.loads((REPO / "tests" / "fixtures" / "assessment-1.1.json").read_text())
    a = Assessment.model_validate(old)
    assert a.targets == [] and a.provenance.kinds == ""
    d = next(iter(a.descriptor_results().values()))
    assert d.searched is None and all(e.kind == "" for e in d.evidence)


def test_targets_command_writes_csv_and_xlsx_with_inert_cells(tmp_path):
    runner = CliRunner()
    pdf = SAMPLE_CORPUS / "saltmarsh-bay-connection-2024.pdf"
    result = runner.invoke(main, ["targets", str(pdf), "--format", "csv", "--out", str(tmp_path / "t.csv")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "t.csv").open()))
    assert {"Trust most people in the area", "People using social prescribing"} <= {
        r["indicator"] for r in rows
    }
    assert all(r["date"] == "2027" for r in rows)
    # a cell from a document that starts like a formula stays text
    table = [{**dict.fromkeys(tt.FIELDS, ""), "indicator": "=1+1", "document": "@SUM(A1)"}]
    tt.write(tmp_path / "x.csv", "csv", table)
    assert "'=1+1" in (tmp_path / "x.csv").read_text()
    tt.write(tmp_path / "x.xlsx", "xlsx", table)
    cell = load_workbook(tmp_path / "x.xlsx")["Targets"]["D2"]
    assert cell.value == "=1+1" and cell.data_type == "s"


@pytest.mark.model
def test_targets_of_a_file_assess_has_read_come_from_the_cache(real_pipeline, tmp_path, monkeypatch):
    """`evaluator targets FILE` after `assess FILE` neither extracts nor parses the file again: they share
    the cache. `--no-cache` reads it afresh, with the same targets."""
    import evaluator.limits
    import evaluator.stages.kinds as kinds_module
    from evaluator.pipeline import Pipeline

    monkeypatch.setenv("EVALUATOR_CACHE", str(tmp_path / "cache"))
    pdf = SAMPLE_CORPUS / "saltmarsh-bay-connection-2024.pdf"
    assessed = Pipeline(
        rubric=real_pipeline.rubric, encoder=real_pipeline.encoder, cache=Cache(tmp_path / "cache")
    ).assess(pdf)
    assert assessed.targets

    def listed(*options: str) -> list[dict]:
        out = tmp_path / "t.csv"
        args = ["targets", str(pdf), "--format", "csv", "--out", str(out), *options]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        return list(csv.DictReader(out.open()))

    read, parsed = [], []
    extract_isolated, find_targets_ = evaluator.limits.extract_isolated, kinds_module.find_targets
    monkeypatch.setattr(
        evaluator.limits, "extract_isolated", lambda *a, **k: read.append(1) or extract_isolated(*a, **k)
    )
    monkeypatch.setattr(
        kinds_module, "find_targets", lambda *a, **k: parsed.append(1) or find_targets_(*a, **k)
    )
    cached = listed()
    assert read == [] and parsed == []
    assert [r["text"] for r in cached] == [t.text for t in assessed.targets]
    assert listed("--no-cache") == cached and read == [1] and parsed == [1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["targets"], "Give either FILE or --workspace DIR."),
        (["targets", "nope.pdf", "--workspace", "ws"], "Give either FILE or --workspace DIR."),
        (["targets", "{pdf}", "--format", "csv"], "--format csv needs --out FILE."),
        (["targets", "missing.pdf"], "No such file"),
        (["targets", "--workspace", "{tmp}/none"], "No workspace at"),
        (["targets", "{pdf}", "--format", "xlsx", "--out", "{tmp}/no/such/dir/t.xlsx"], "does not exist"),
    ],
)
def test_targets_command_bad_input_is_one_line(tmp_path, args, message):
    pdf = str(SAMPLE_CORPUS / "northmoor-hws-2024.pdf")
    args = [a.format(pdf=pdf, tmp=tmp_path) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.model
def test_a_rescore_parses_only_passages_it_cites_for_the_first_time(real_pipeline, tmp_path, monkeypatch):
    """After a rubric, ranker, judge or threshold change a re-screen re-scores every document: the kinds
    of the passages it cited before, and the document's targets, come from the cache, and they are what
    a fresh parse gives. Only passages cited for the first time are parsed."""
    import evaluator.stages.kinds as kinds_module
    from evaluator.pipeline import Pipeline

    parsed: list[set[int]] = []
    targets_read = []
    classify_passages, find_targets_ = kinds_module.classify_passages, kinds_module.find_targets

    def counting_classify(passages, which, nlp=None):
        parsed.append(set(which))
        return classify_passages(passages, which, nlp)

    def counting_targets(passages, nlp=None):
        targets_read.append(1)
        return find_targets_(passages, nlp)

    monkeypatch.setattr(kinds_module, "classify_passages", counting_classify)
    monkeypatch.setattr(kinds_module, "find_targets", counting_targets)
    path = SAMPLE_CORPUS / "northmoor-hws-2024.pdf"

    def pipeline(ranker, cache_dir):
        return Pipeline(
            rubric=real_pipeline.rubric, encoder=real_pipeline.encoder, ranker=ranker, cache=Cache(cache_dir)
        )

    def kinds(a: Assessment) -> dict[str, str]:
        return {e.passage_id: e.kind for d in a.descriptor_results().values() for e in d.evidence}

    first = pipeline(real_pipeline.ranker, tmp_path / "cache").assess(path)
    assert len(parsed) == 1 and targets_read == [1]
    again = pipeline(real_pipeline.ranker, tmp_path / "cache").assess(path)
    assert len(parsed) == 1 and targets_read == [1]  # nothing parsed again
    assert kinds(again) == kinds(first) and again.targets == first.targets

    # without the ranker it cites other passages: only those are parsed, and every kind is a fresh one's
    unranked = pipeline(None, tmp_path / "cache").assess(path)
    cited_before = set(kinds(first))
    new = {pid for pid in kinds(unranked) if pid not in cited_before}
    assert new and len(parsed) == 2 and len(parsed[1]) == len(new) and targets_read == [1]
    fresh = pipeline(None, tmp_path / "fresh-cache").assess(path)
    assert kinds(unranked) == kinds(fresh) and unranked.targets == fresh.targets

    # a damaged entry (a disk filled mid-write elsewhere, an edit by hand) is parsed again, not trusted
    for stored in (tmp_path / "cache").rglob("*.kinds.json"):
        stored.write_text('{"kinds": {"0": "not a kind"}')
    damaged = pipeline(None, tmp_path / "cache").assess(path)
    assert len(parsed) == 4 and targets_read == [1, 1, 1]  # the fresh cache parsed once too
    assert kinds(damaged) == kinds(fresh) and damaged.targets == fresh.targets
