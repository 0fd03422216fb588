"""The analyst notebooks run top to bottom in a clean kernel and produce their figures and tables.

The kernel is this interpreter (a kernelspec written into a temporary JUPYTER_PATH), started in
notebooks/ like Jupyter does, and inherits the session's EVALUATOR_CACHE (conftest), so the agreement
notebook re-uses extraction/embeddings that other tests in the session already computed.
"""

from __future__ import annotations

import json
import sys

import nbformat
import pytest
from support import REPO

NOTEBOOKS = REPO / "notebooks"
NAMES = ["corpus-overview.ipynb", "agreement.ipynb"]
CELL_TIMEOUT = 600  # seconds; the agreement notebook analyses ~250 pages on a cold cache


@pytest.fixture()
def kernel_env(tmp_path, monkeypatch):
    """A "python3" kernelspec pointing at sys.executable, first on JUPYTER_PATH."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (evaluator tests)",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the notebooks draw inline
    monkeypatch.delenv("EVALUATOR_REPORT", raising=False)  # the agreement notebook evaluates, unless told
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # no debugger warning on stderr
    return tmp_path


def run_notebook(name: str) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError naming the cell if any cell fails
    return nb


def output_text(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook printed or displayed as text/markdown."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts += [data.get("text/markdown", ""), data.get("text/plain", "")]
    return "\n".join(parts)


def images(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_clean(name):
    """No outputs or execution counts in the repository: small diffs, no stale results."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is None and not c.outputs for c in code)
    assert 8 <= len(nb.cells) <= 14
    assert "parameters" in code[0].metadata.get("tags", [])


@pytest.mark.model
def test_corpus_overview_notebook(kernel_env, monkeypatch):
    workspace = kernel_env / "workspace"
    monkeypatch.setenv("EVALUATOR_WORKSPACE", str(workspace))
    monkeypatch.delenv("EVALUATOR_CORPUS", raising=False)  # the default: the repo's corpus/
    nb = run_notebook("corpus-overview.ipynb")
    text = output_text(nb)
    manifest = (REPO / "corpus" / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    n = len([line for line in manifest[1:] if line.strip()])  # the PDFs the sample corpus lists
    assert f"{n} assessed, 0 skipped (unchanged), 0 failed" in text
    assert (workspace / "figures" / "levels-heatmap.png").stat().st_size > 5000
    assert (workspace / "figures" / "level-distribution.png").stat().st_size > 5000
    assert images(nb) == 2
    assert f"| Descriptor | Level | Evidenced in (of {n}) | Wording |" in text
    assert "| Document | H1 | H2 | H3a | H3b | H4 | H5 | H6 |" in text
    assert "Exact agreement with the intended levels" in text
    assert "| Descriptor | Status | Page | Quote |" in text


@pytest.mark.model
def test_agreement_notebook_shows_a_saved_report(kernel_env, monkeypatch, gold_report):
    """An analyst who has run `evaluator evaluate --report OUT` explores OUT.json in the notebook without
    evaluating again: the figures it shows are the report's, and the evidence is drawn from the documents."""
    saved = gold_report[1].with_suffix(".json")
    report = json.loads(saved.read_text())
    figures = kernel_env / "figures"
    monkeypatch.setenv("EVALUATOR_FIGURES", str(figures))
    monkeypatch.setenv("EVALUATOR_REPORT", str(saved))
    for var in ("EVALUATOR_GOLD", "EVALUATOR_DOCS"):
        monkeypatch.delenv(var, raising=False)  # the defaults: ../shared beside the repo
    nb = run_notebook("agreement.ipynb")
    text = output_text(nb)
    assert f"From the saved report `{saved}` of {report['created_at']}." in text
    tool = next(iter(report["systems"].values()))
    assert f"quadratic-weighted kappa **{tool['hallmarks']['kappa_quadratic']:.2f}**" in text
    assert f"3-class kappa **{tool['descriptors']['kappa']:.2f}**" in text
    assert (figures / "confusion.png").stat().st_size > 5000
    assert (figures / "kappa-per-hallmark.png").stat().st_size > 5000
    assert images(nb) == 2
    assert "| Descriptor | Mean abs. diff. | Wording | Disagreements (reviewers → tool) |" in text
    evidence = text.split("| Descriptor | Document | Reviewers | Gold pages | Gold quote |")
    assert len(evidence) == 2 and evidence[1].count("\n| ") >= 1  # at least one side-by-side row


def test_agreement_notebook_stops_gracefully_without_labels(kernel_env, monkeypatch):
    """No ../shared (or a wrong path): a markdown note, no error, no model load."""
    monkeypatch.setenv("EVALUATOR_GOLD", str(kernel_env / "no-such-gold"))
    monkeypatch.setenv("EVALUATOR_DOCS", str(kernel_env / "no-such-docs"))
    nb = run_notebook("agreement.ipynb")
    assert "**Skipped:**" in output_text(nb)
    assert images(nb) == 0
