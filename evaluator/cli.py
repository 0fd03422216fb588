"""Command line: a thin click layer over the Python API.

User errors (``EvaluatorError``) become one-line ``click.ClickException`` messages, never tracebacks.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from evaluator import __version__
from evaluator.errors import EvaluatorError

if TYPE_CHECKING:
    from evaluator.stages.cache import Cache


def user_errors(func):
    """Turn EvaluatorError into a one-line error and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except EvaluatorError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evaluator")
def main() -> None:
    """Rate Health and Wellbeing Strategies against the wellbeing maturity model.

    \b
    Example:
      evaluator assess strategy.pdf --json out.json
    """


no_cache_option = click.option(
    "--no-cache", is_flag=True, help="Do not read or write the extraction/embedding cache ($EVALUATOR_CACHE)."
)
rubric_option = click.option(
    "--rubric",
    "rubric_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A custom rubric YAML (default: the shipped maturity model).",
)
model_option = click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A judge model written by `evaluator calibrate` (default: the shipped one).",
)


review_below_option = click.option(
    "--review-below",
    type=click.FloatRange(0, 1),
    metavar="CONFIDENCE",
    help="Flag hallmarks whose confidence is below this for review [default: 0.8]. Higher flags more and "
    "leaves surer levels unflagged: `evaluator evaluate` prints the agreement at each threshold.",
)


class WorkspaceLocation(click.ParamType):
    """A workspace folder, or a ``postgresql://`` URL (a workspace on a team's server)."""

    name = "FOLDER|URL"

    def convert(self, value, param, ctx):
        from evaluator.workspace.backend import is_postgres_url

        if isinstance(value, Path) or is_postgres_url(value):
            return value
        return Path(value)


database_option = click.option(
    "--database",
    envvar="EVALUATOR_DATABASE",
    metavar="URL",
    help="The workspace's database on a PostgreSQL server (postgresql://user@host/dbname; or set "
    "$EVALUATOR_DATABASE); the --workspace folder then only holds this machine's cache and reports.",
)


def _workspace(
    location: Path | str | None,
    database: str | None,
    *,
    create: bool = False,
    default: Path | None = None,
    **kwargs,
):
    """Open the workspace a command names: a folder, a folder and a database URL, or a URL alone
    (``default``: the folder when neither is given)."""
    from evaluator.errors import WorkspaceError
    from evaluator.workspace.store import Workspace

    if isinstance(location, str):  # --workspace postgresql://...
        location, database = None, location
    if location is None and database is None:
        location = default
    if location is None and database is None:
        raise WorkspaceError("Name the workspace: --workspace FOLDER, or --database postgresql://...")
    return Workspace(location, database=database, create=create, **kwargs)


def _cache(no_cache: bool) -> Cache | None:
    from evaluator.stages.cache import Cache, default_cache_dir

    return None if no_cache else Cache(default_cache_dir())


def _read_ahead(path: Path, max_pages: int | None, cache):
    """Start reading the file for `assess` now, while the pipeline is imported and the models load
    (``ReadAhead``), unless its extraction is cached; also the file's sha256. (None, None) for a file
    that cannot be read: the pipeline reports it."""
    from evaluator.files import file_sha256
    from evaluator.limits import ReadAhead, default_readers
    from evaluator.stages.extract import document_version

    try:
        sha256 = file_sha256(path)
    except OSError:
        return None, None
    if cache is not None and cache.has_document(sha256, document_version(max_pages)):
        return None, sha256
    return ReadAhead(path, max_pages=max_pages, sha256=sha256, readers=default_readers()), sha256


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--area",
    "area_name",
    help="Assess the FILES together as one area (a board's strategy, JSNA, reports...) with this name.",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    metavar="DOCUMENT=ROLE",
    help="With --area: what a document is for the board, e.g. ws-jsna-summary-2018=jsna (repeatable).",
)
@click.option(
    "--per-document",
    "per_document",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --area: also write each document's own assessment JSON to this folder (<id>.json).",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the assessment JSON (the contract other tools read) to this file.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
    help="What to print on standard output.",
)
@rubric_option
@model_option
@click.option(
    "--ranker",
    "ranker_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An evidence ranker written by `evaluator calibrate --ranker-out` (default: the shipped one).",
)
@click.option("--max-pages", type=click.IntRange(min=1), help="Assess only the first N pages.")
@review_below_option
@no_cache_option
@user_errors
def assess(
    files: tuple[Path, ...],
    area_name: str | None,
    roles: tuple[str, ...],
    per_document: Path | None,
    json_out: Path | None,
    fmt: str,
    rubric_path: Path | None,
    model_path: Path | None,
    ranker_path: Path | None,
    max_pages: int | None,
    review_below: float | None,
    no_cache: bool,
) -> None:
    """Assess one strategy (PDF, .txt or .md), or a board's documents together as one area: a level per
    hallmark with cited evidence.

    In an area each descriptor draws its evidence from any of the documents, and each citation names
    its document. A document that cannot be read is reported (exit code 1); the others are assessed.

    \b
    Example:
      evaluator assess strategy.pdf --json strategy.assessment.json
      evaluator assess strategy.pdf --format markdown > strategy.md
      evaluator assess jhws.pdf jsna.pdf consultation.pdf --area "West Sussex HWB 2019" --json area.json
    """
    if len(files) > 1 and area_name is None:
        raise click.UsageError(
            'Several files: add --area "NAME" to assess them together as one area, '
            "or run `evaluator assess` once per file (`evaluator screen` assesses a folder)."
        )
    if area_name is None and (roles or per_document):
        raise click.UsageError("--role and --per-document need --area.")
    from evaluator.limits import default_readers, extract_isolated

    cache = _cache(no_cache)
    read_ahead, sha256 = None, None
    if area_name is None:  # start reading before the imports below (seconds): both cores busy from now
        read_ahead, sha256 = _read_ahead(files[0], max_pages, cache)

    from evaluator.assessment_report import assessment_markdown, print_table
    from evaluator.files import atomic_write
    from evaluator.pipeline import Pipeline
    from evaluator.rubric import load_rubric
    from evaluator.stages.judge import load_judge
    from evaluator.stages.rank import load_ranker

    rubric = load_rubric(rubric_path)
    pipeline = Pipeline(
        rubric=rubric,
        judge=load_judge(model_path),
        ranker=load_ranker(ranker_path),
        max_pages=max_pages,
        cache=cache,
        extractor=read_ahead or functools.partial(extract_isolated, readers=default_readers()),
        warm_up_while_reading=True,
    )
    if review_below is not None:
        pipeline.review_below = review_below
    if area_name is None:
        assessment = pipeline.assess(files[0], sha256)
    else:
        from evaluator.area import assess_area, members_from_paths, parse_roles

        result = assess_area(members_from_paths(files, parse_roles(roles)), area_name, pipeline)
        assessment = result.assessment
        if per_document:
            for doc_id, single in result.documents.items():
                atomic_write(
                    per_document / f"{doc_id}.json", single.model_dump_json(indent=2), then="then run again"
                )
    if json_out:
        atomic_write(json_out, assessment.model_dump_json(indent=2), then="then run again")
    if fmt == "json":
        click.echo(assessment.model_dump_json(indent=2))
    elif fmt == "markdown":
        click.echo(assessment_markdown(assessment, rubric))
    else:
        print_table(assessment, rubric)
    failed = [d for d in assessment.documents if d.error]
    for document in failed:
        click.echo(f"failed {document.path}: {document.error}", err=True)
    if failed:
        sys.exit(1)


@main.command()
@click.argument("old")
@click.argument("new")
@click.option(
    "--workspace",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="OLD and NEW are documents or areas of this workspace (doc id, file name, title or sha256).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "html", "json"]),
    default="table",
    show_default=True,
    help="Output: a terminal table, Markdown, a self-contained HTML page, or JSON for other tools.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file, not stdout."
)
@click.option("--hide-unchanged", is_flag=True, help="Leave out hallmarks and descriptors that did not move.")
@click.option(
    "--rubric",
    "rubric_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The rubric both were rated on (default: the workspace's, else the shipped maturity model).",
)
@no_cache_option
@user_errors
def compare(
    old: str,
    new: str,
    workspace: Path | None,
    fmt: str,
    out: Path | None,
    hide_unchanged: bool,
    rubric_path: Path | None,
    no_cache: bool,
) -> None:
    """Compare two versions of a strategy (or of an area): hallmark levels before and after, and each
    descriptor's status change with the evidence on each side.

    OLD and NEW are assessment JSON files (`evaluator assess --json`), documents to assess now (PDF,
    .txt, .md), or with --workspace two documents or areas of a workspace.

    \b
    Example:
      evaluator compare corpus/fenwick-hws-2020.pdf corpus/fenwick-hws-2025.pdf
      evaluator compare old.json new.json --format html --out changes.html --hide-unchanged
      evaluator compare fenwick-hws-2020 fenwick-hws-2025 --workspace demo --format markdown
    """
    from evaluator.compare import compare as run_compare
    from evaluator.compare import (
        comparison_html,
        comparison_markdown,
        print_comparison,
        resolve,
    )
    from evaluator.files import atomic_write
    from evaluator.rubric import load_rubric

    ws = None
    if workspace is not None:
        from evaluator.workspace.store import Workspace

        ws = Workspace(workspace, create=False)

    @functools.cache
    def pipeline():
        from evaluator.limits import extract_isolated
        from evaluator.pipeline import Pipeline

        return Pipeline(rubric=load_rubric(rubric_path), cache=_cache(no_cache), extractor=extract_isolated)

    rubric = load_rubric(rubric_path) if rubric_path or ws is None else ws.rubric()
    comparison = run_compare(
        resolve(old, workspace=ws, pipeline=pipeline),
        resolve(new, workspace=ws, pipeline=pipeline),
        rubric,
        hide_unchanged=hide_unchanged,
    )
    if fmt == "table" and out is None:
        print_comparison(comparison)
        return
    if fmt == "table":
        from io import StringIO

        from rich.console import Console

        buffer = StringIO()
        print_comparison(comparison, Console(file=buffer, width=160, color_system=None))
        text = buffer.getvalue()
    elif fmt == "markdown":
        text = comparison_markdown(comparison)
    elif fmt == "html":
        text = comparison_html(comparison)
    else:
        text = comparison.model_dump_json(indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write(out, text, then="then run again")
        click.echo(f"Wrote {out}", err=True)


gold_options = [
    click.option(
        "--gold",
        "gold_dir",
        required=True,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Folder of gold label files <doc_id>.json.",
    ),
    click.option(
        "--docs",
        "docs_dir",
        required=True,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Folder with the labelled documents <doc_id>.pdf (or .txt/.md).",
    ),
]


def with_gold_options(func):
    for option in reversed(gold_options):
        func = option(func)
    return func


def _kind_report(docs_dir: Path, cache: Cache | None) -> str:
    """Evidence kinds against the hand-labelled passages (a source checkout's tests/expectations/kinds.tsv),
    for the labelled documents found in DOCS or the sample corpus."""
    from evaluator.evaluation.kinds import default_labels_path, kind_agreement, load_labels

    labels = default_labels_path()
    if not labels.is_file():
        return ""
    sample = Path(__file__).resolve().parents[1] / "corpus"
    report = kind_agreement(load_labels(labels), [docs_dir, sample], cache)
    if not report.n:
        return ""
    target = report.recall("target")
    return (
        "\n## Evidence kinds\n\n"
        + report.markdown()
        + f"\nTarget recall {target:.2f} ({report.support('target')} labelled targets).\n"
        if target is not None
        else report.markdown()
    )


@main.command()
@with_gold_options
@click.option(
    "--report",
    "report_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write REPORT.json, REPORT.md and REPORT.html.",
)
@click.option("--no-baselines", is_flag=True, help="Score the tool only.")
@click.option(
    "--areas",
    "areas_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also score areas: a TSV with columns area and doc_id (one row per document), gold derived "
    "from the documents' labels.",
)
@no_cache_option
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
@user_errors
def evaluate(
    gold_dir: Path,
    docs_dir: Path,
    report_out: Path | None,
    no_baselines: bool,
    areas_file: Path | None,
    no_cache: bool,
    quiet: bool,
) -> None:
    """Score suggestions against reviewer labels, leave-one-document-out, beside two baselines.

    With --areas, each area (a board's documents assessed together) is scored leave-area-out against
    gold derived from its documents' labels, beside the same documents scored one by one.

    \b
    Example:
      evaluator evaluate --gold ../shared/gold --docs ../shared/corpus --report eval/report
      evaluator evaluate --gold ../shared/gold --docs ../shared/corpus --areas benchmarks/shared-areas.tsv
    """
    from evaluator.evaluation import evaluate as run_evaluation
    from evaluator.evaluation import to_markdown, write_report
    from evaluator.evaluation.areas import load_areas
    from evaluator.pipeline import Pipeline

    areas = load_areas(areas_file) if areas_file else []

    progress = None if quiet else (lambda doc_id: click.echo(f"analysing {doc_id}", err=True))
    cache = _cache(no_cache)
    report = run_evaluation(
        gold_dir,
        docs_dir,
        pipeline=Pipeline(judge=None, ranker=None, cache=cache),
        baselines=not no_baselines,
        progress=progress,
        areas=areas,
    )
    click.echo(to_markdown(report))
    kinds = _kind_report(docs_dir, cache)
    if kinds:
        click.echo(kinds)
    if report_out:
        for path in write_report(report, report_out):
            click.echo(f"wrote {path}", err=True)


@main.command()
@with_gold_options
@click.option(
    "--workspace",
    "workspaces",
    multiple=True,
    type=WorkspaceLocation(),
    help="Also learn from reviewers' decisions in this workspace: a folder or a postgresql:// URL (repeatable).",
)
@database_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("judge.json"),
    show_default=True,
    help="Where to write the fitted judge model (JSON).",
)
@click.option(
    "--ranker-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("ranker.json"),
    show_default=True,
    help="Where to write the fitted evidence ranker (JSON).",
)
@no_cache_option
@user_errors
def calibrate(
    gold_dir: Path,
    docs_dir: Path,
    workspaces: tuple[Path | str, ...],
    database: str | None,
    out: Path,
    ranker_out: Path,
    no_cache: bool,
) -> None:
    """Fit the judge and the evidence ranker on labelled documents; `assess --model OUT --ranker
    RANKER_OUT` then uses them.

    Labels: the gold files, plus reviewers' decisions in any --workspace (accepted hallmarks endorse
    their descriptors' statuses; confirmed or rejected evidence marks a descriptor evidenced or not).
    Prints leave-one-document-out figures on the gold documents.

    \b
    Example:
      evaluator calibrate --gold ../shared/gold --docs ../shared/corpus --out judge.json
      evaluator calibrate --gold ../shared/gold --docs ../shared/corpus --workspace demo --out judge.json
      evaluator assess strategy.pdf --model judge.json --ranker ranker.json
      # refit the shipped models on every labelled document:
      evaluator calibrate --gold ../shared/gold --docs ../shared/corpus \\
        --out evaluator/models/judge.json --ranker-out evaluator/models/ranker.json
    """
    from evaluator.evaluation import TOOL
    from evaluator.evaluation import calibrate as run_calibration
    from evaluator.pipeline import Pipeline

    opened = [_workspace(w, None) for w in workspaces] + ([_workspace(None, database)] if database else [])
    result = run_calibration(
        gold_dir,
        docs_dir,
        workspaces=opened,
        pipeline=Pipeline(judge=None, ranker=None, cache=_cache(no_cache)),
    )  # what we fit
    for path, fitted in ((out, result.model), (ranker_out, result.ranker)):
        try:
            path.write_text(fitted.model_dump_json(indent=1) + "\n")
        except OSError as exc:
            raise click.ClickException(
                f"Cannot write {path}: {exc.strerror}. Choose a writable path."
            ) from None
    s = result.scores
    click.echo(
        f"{TOOL} leave-one-document-out on {len(result.gold_documents)} gold documents: "
        f"hallmark kappa {s.hallmarks.kappa_quadratic:.2f}, descriptor kappa {s.descriptors.kappa:.2f}, "
        f"met-or-partial kappa {s.descriptors.kappa_binary:.2f}, page hit rate {s.evidence.page_hit_rate:.2f}"
    )
    if result.missing:
        click.echo(f"not found or unreadable: {', '.join(result.missing)}", err=True)
    click.echo(
        f"wrote {out} ({result.model.version}; {result.model.notes}; "
        f"{result.reviewer_documents} reviewer-labelled documents)"
    )
    click.echo(f"wrote {ranker_out} ({result.ranker.version}; {result.ranker.notes})")


@main.command()
@click.option(
    "--workspace",
    "workspace",
    type=WorkspaceLocation(),
    help="Workspace folder made by `evaluator screen` (or a postgresql:// URL).",
)
@database_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the access token (or set $EVALUATOR_REVIEW_TOKEN); at least 32 characters. "
    "Beyond loopback without one, a strong token is generated and printed.",
)
@click.option(
    "--read-only",
    is_flag=True,
    help="Browse without saving decisions (automatic when the workspace folder is not writable).",
)
@user_errors
def review(
    workspace: Path | str | None,
    database: str | None,
    host: str,
    port: int,
    token_file: Path | None,
    read_only: bool,
) -> None:
    """Open the review app: accept or override suggested levels with the evidence on the page.

    The access token never goes on the command line (where `ps` shows it to every user).

    \b
    Example:
      evaluator review --workspace strategies/
      evaluator review --workspace strategies/ --host 0.0.0.0 --token-file ~/.review-token
      evaluator review --database postgresql://evaluator@db.example/hws --host 0.0.0.0
    """
    import os

    from evaluator.review.app import TOKEN_ENV, serve

    token = os.environ.get(TOKEN_ENV) or None
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"Cannot read the token file {token_file}: {exc}.") from None
    ws = _workspace(workspace, database, read_only=read_only or None)
    serve(ws, host=host, port=port, token=token)


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--workspace",
    "workspace",
    type=click.Path(file_okay=False, path_type=Path),
    help="List the targets of every document screened into this workspace.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "xlsx"]), default="table", show_default=True
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (csv, xlsx).")
@click.option("--max-pages", type=click.IntRange(min=1), help="Read only the first N pages of FILE.")
@no_cache_option
@user_errors
def targets(
    file: Path | None,
    workspace: Path | None,
    fmt: str,
    out: Path | None,
    max_pages: int | None,
    no_cache: bool,
) -> None:
    """List the measurable targets a strategy sets: indicator, number, direction and date.

    \b
    Example:
      evaluator targets strategy.pdf
      evaluator targets --workspace demo --format xlsx --out targets.xlsx
    """
    from evaluator.workspace import targets as tt

    if (file is None) == (workspace is None):
        raise click.UsageError("Give either FILE or --workspace DIR.")
    if fmt != "table" and out is None:
        raise click.UsageError(f"--format {fmt} needs --out FILE.")
    if workspace is not None:
        table = tt.workspace_rows(workspace)
    else:
        assert file is not None
        table = tt.rows(file.name, tt.file_targets(file, max_pages, _cache(no_cache)))
    if fmt == "table":
        from rich.console import Console
        from rich.table import Table

        view = Table(title=f"Targets ({len(table)})")
        for name in ("document", "page", "indicator", "number", "direction", "date"):
            view.add_column(name.capitalize(), overflow="fold")
        for row in table:
            view.add_row(
                *(str(row[k]) for k in ("document", "page", "indicator", "number", "direction", "date"))
            )
        Console().print(view)
        return
    assert out is not None
    tt.write(out, fmt, table)
    click.echo(f"Wrote {len(table)} target(s) to {out}")


@main.command("export")
@click.option(
    "--workspace",
    "workspace",
    type=WorkspaceLocation(),
    help="Workspace folder made by `evaluator screen` (or a postgresql:// URL).",
)
@database_option
@click.option("--format", "fmt", required=True, type=click.Choice(["json", "csv", "xlsx", "html"]))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@user_errors
def export_command(workspace: Path | str | None, database: str | None, fmt: str, out: Path) -> None:
    """Export final levels (reviewed, consensus or suggested) for every document.

    \b
    Example:
      evaluator export --workspace strategies/ --format xlsx --out review.xlsx
    """
    from evaluator.workspace.export import export

    count = export(_workspace(workspace, database), fmt, out)
    click.echo(f"Wrote {count} document(s) to {out}")


@main.command()
@click.option(
    "--workspace",
    "workspace",
    type=WorkspaceLocation(),
    help="Workspace folder made by `evaluator screen` (or a postgresql:// URL).",
)
@database_option
@user_errors
def audit(workspace: Path | str | None, database: str | None) -> None:
    """Check that no reviewer decision was changed, removed or inserted outside the evaluator.

    Every decision, evidence verdict and consensus record carries a hash chained to the one before;
    exit 1 names the first record that does not match. Note the printed last hashes to detect later
    removal of the newest records.

    \b
    Example:
      evaluator audit --workspace review-2025/
    """
    from evaluator.errors import WorkspaceError
    from evaluator.workspace.audit import verify

    report = verify(_workspace(workspace, database))
    if not report.ok:
        raise WorkspaceError(report.broken + ". Restore the workspace from a backup, or ask who changed it.")
    c = report.counts
    click.echo(
        f"OK: {c['decisions']} decisions, {c['evidence_decisions']} evidence verdict(s), "
        f"{c['consensus']} consensus record(s); every chain is intact."
    )
    for table, last in report.last.items():
        click.echo(f"  last {table} hash {last}")


@main.group("workspace")
def workspace_group() -> None:
    """Set up and move workspaces: a team's PostgreSQL database, and copies between backends.

    \b
    Examples:
      evaluator workspace grant evaluator_app --database postgresql://owner@db.example/hws
      evaluator workspace copy review-2025/ postgresql://owner@db.example/hws
    """


@workspace_group.command("grant")
@click.argument("role")
@click.option(
    "--database", required=True, envvar="EVALUATOR_DATABASE", metavar="URL", help="As the database owner."
)
@user_errors
def workspace_grant_command(role: str, database: str) -> None:
    """Create or upgrade the schema (as the owner), and let ROLE use the workspace without changing
    any reviewer record: it may read and append, never update or delete decisions.

    \b
    Example:
      evaluator workspace grant evaluator_app --database postgresql://owner@db.example/hws
    """
    from evaluator.workspace.backend import PostgresBackend

    ws = _workspace(None, database)
    if not isinstance(ws.backend, PostgresBackend):  # pragma: no cover - _workspace refuses other URLs
        raise click.ClickException("grant is for PostgreSQL workspaces.")
    ws.backend.grant(role)
    click.echo(f"{role} may now use {ws.label}: read and append; no UPDATE or DELETE on reviewer records.")


@workspace_group.command("copy")
@click.argument("src", type=WorkspaceLocation())
@click.argument("dst", type=WorkspaceLocation())
@user_errors
def workspace_copy_command(src: Path | str, dst: Path | str) -> None:
    """Copy the workspace SRC into a new, empty workspace DST (folders or postgresql:// URLs), every
    decision with its id, history and chained hash; checks every table's count and digest after.

    \b
    Examples:
      evaluator workspace copy review-2025/ postgresql://evaluator_owner@db.example/hws
      evaluator workspace copy postgresql://evaluator@db.example/hws archive-2025/
    """
    from evaluator.workspace.copy import copy_workspace

    report = copy_workspace(_workspace(src, None), _workspace(dst, None, create=True))
    c = report.counts
    click.echo(
        f"Copied {c['documents']} document(s), {c['assessments']} suggestion(s), {c['decisions']} decision(s), "
        f"{c['evidence_decisions']} evidence verdict(s), {c['consensus']} consensus record(s), "
        f"{c['users']} account(s); every table's count and digest match and the chains verify."
    )
    if report.files_added:
        click.echo(f"Kept {report.files_added} document file(s) from disk in the copy.")


workspace_options = [
    click.option(
        "--workspace",
        "workspace",
        type=WorkspaceLocation(),
        help="Workspace folder (or a postgresql:// URL) [default: workspace].",
    ),
    database_option,
]


def with_workspace_options(func):
    for option in reversed(workspace_options):
        func = option(func)
    return func


@main.group("users")
def users_group() -> None:
    """Reviewer accounts of a team workspace: with at least one, the review app asks everyone to sign in.

    Roles: reviewer (decides), adjudicator (also records the consensus), admin (manages accounts).

    \b
    Examples:
      evaluator users add "Ana Silva" --role admin --database postgresql://evaluator@db.example/hws
      evaluator users list --database postgresql://evaluator@db.example/hws
    """


@users_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["reviewer", "adjudicator", "admin"]))
@with_workspace_options
@user_errors
def users_add_command(name: str, role: str, workspace: Path | str | None, database: str | None) -> None:
    """Add an account; prints its one-time password (give it to the person; they choose their own at
    first sign-in).

    \b
    Example:
      evaluator users add "Ben Okafor" --role reviewer --database postgresql://evaluator@db.example/hws
    """
    from evaluator.workspace.accounts import add_user

    user, password = add_user(_workspace(workspace, database, default=Path("workspace")), name, role)
    click.echo(f"Added {user.name} ({user.role}). One-time password: {password}")
    click.echo("They sign in with it once, then choose their own password.")


@users_group.command("list")
@with_workspace_options
@user_errors
def users_list_command(workspace: Path | str | None, database: str | None) -> None:
    """List the accounts: name, role, and whether each is disabled or still on its one-time password.

    \b
    Example:
      evaluator users list --database postgresql://evaluator@db.example/hws
    """
    from evaluator.workspace.accounts import users

    for user, disabled in users(_workspace(workspace, database, default=Path("workspace"))):
        state = "disabled" if disabled else ("one-time password" if user.must_change else "active")
        click.echo(f"{user.name}\t{user.role}\t{state}")


@users_group.command("reset")
@click.argument("name")
@with_workspace_options
@user_errors
def users_reset_command(name: str, workspace: Path | str | None, database: str | None) -> None:
    """Give an account a new one-time password (and enable it again); its sessions end.

    \b
    Example:
      evaluator users reset "Ben Okafor" --database postgresql://evaluator@db.example/hws
    """
    from evaluator.workspace.accounts import reset_password

    password = reset_password(_workspace(workspace, database, default=Path("workspace")), name)
    click.echo(f"New one-time password for {name.strip()}: {password}")


@users_group.command("disable")
@click.argument("name")
@with_workspace_options
@user_errors
def users_disable_command(name: str, workspace: Path | str | None, database: str | None) -> None:
    """Stop an account from signing in; its decisions stay, attributed to it.

    \b
    Example:
      evaluator users disable "Ben Okafor" --database postgresql://evaluator@db.example/hws
    """
    from evaluator.workspace.accounts import disable_user

    disable_user(_workspace(workspace, database, default=Path("workspace")), name)
    click.echo(f"Disabled {name.strip()}; their decisions are kept.")


@main.group("rubric")
def rubric_group() -> None:
    """Check and list the maturity model the documents are rated against.

    \b
    Examples:
      evaluator rubric validate my-rubric.yaml
      evaluator rubric show --format yaml > my-rubric.yaml
    """


@rubric_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@user_errors
def rubric_validate_command(file: Path) -> None:
    """Check a rubric FILE against the schema and the id rules; exit 1 with the first problem.

    \b
    Example:
      evaluator rubric validate rubric/maturity-model.yaml
      OK: wwcw-maturity-model 1.0.0: 7 hallmarks, 57 descriptors
    """
    from evaluator.rubric import load_rubric

    rubric = load_rubric(file)
    click.echo(
        f"OK: {rubric.id} {rubric.version}: {len(rubric.hallmarks)} hallmarks, "
        f"{len(rubric.descriptors)} descriptors"
    )


@rubric_group.command("show")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "yaml", "json"]), default="table", show_default=True
)
@click.option(
    "--rubric",
    "rubric_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Rubric YAML file [default: the shipped maturity model].",
)
@user_errors
def rubric_show_command(fmt: str, rubric_file: Path | None) -> None:
    """List the hallmarks and descriptors (id, level, wellbeing framing, #queries, #cues, wording).

    \b
    Examples:
      evaluator rubric show
      evaluator rubric show --format yaml > my-rubric.yaml
    """
    import json

    import yaml

    from evaluator.rubric import load_rubric, rubric_hash, rubric_to_dict

    rubric = load_rubric(rubric_file)
    if fmt == "yaml":
        click.echo(
            yaml.safe_dump(rubric_to_dict(rubric), sort_keys=False, allow_unicode=True, width=110), nl=False
        )
        return
    if fmt == "json":
        click.echo(json.dumps(rubric_to_dict(rubric), indent=2, ensure_ascii=False))
        return
    click.echo(f"{rubric.title} ({rubric.id} {rubric.version}, hash {rubric_hash(rubric)})")
    click.echo("wb = only evidence framed as wellbeing counts in full; q/c = number of queries/cues")
    for hallmark in rubric.hallmarks:
        click.echo(f"\nHallmark {hallmark.id}: {hallmark.title}")
        click.echo(f"  {'id':<8} {'level':<11} {'wb':<3} {'q':>2} {'c':>3}  descriptor")
        for d in hallmark.descriptors:
            wb = "yes" if d.requires_wellbeing else "no"
            click.echo(f"  {d.id:<8} {d.level:<11} {wb:<3} {len(d.queries):>2} {len(d.cues):>3}  {d.text}")


@main.group("cache")
def cache_group() -> None:
    """See and prune the cache of extracted documents, embedded passages and evidence kinds.

    Entries are kept per file and per version of each stage, so after upgrades or rubric edits old ones
    stay behind. Pruning frees the space; an entry a document needs again is made again. A workspace's
    documents, page images and reviewers' decisions are never touched.

    \b
    Examples:
      evaluator cache info
      evaluator cache prune --unused-for 30 --workspace review-2025/
    """


cache_workspace_option = click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The cache of this workspace folder (FOLDER/cache) [default: the cache of `assess`, "
    "$EVALUATOR_CACHE or ~/.cache/wellbeing-evaluator].",
)


def unused_for_option(help_text: str):
    return click.option(
        "--unused-for", "days", type=click.FloatRange(min=0), default=30, show_default=True,
        metavar="DAYS", help=help_text,
    )  # fmt: skip


def _existing_cache(workspace: Path | None):
    from evaluator.errors import WorkspaceError
    from evaluator.stages.cache import Cache, default_cache_dir

    root = workspace / "cache" if workspace is not None else default_cache_dir()
    if workspace is not None and not workspace.is_dir():
        raise WorkspaceError(f"No workspace folder {workspace}: give the folder `evaluator screen` wrote to.")
    if not root.is_dir():
        raise WorkspaceError(f"No cache at {root} yet: it is made by the first `assess` or `screen`.")
    return Cache(root)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@cache_group.command("info")
@cache_workspace_option
@unused_for_option("Also say how much has not been used for this many days.")
@user_errors
def cache_info_command(workspace: Path | None, days: float) -> None:
    """Where the cache is, how many entries and bytes it holds, and how much has gone unused.

    \b
    Example:
      evaluator cache info --workspace review-2025/
      Cache review-2025/cache: 48 entries, 20.9 MB; 0 entries (0.0 MB) unused for 30 days or more.
    """
    entries = _existing_cache(workspace).entries()
    stale = entries.unused_for(days)
    click.echo(
        f"Cache {entries.root}: {len(entries.files)} entries, {_megabytes(entries.size)}; {len(stale)} "
        f"entries ({_megabytes(sum(size for _, size in stale))}) unused for {days:g} days or more."
    )


@cache_group.command("prune")
@cache_workspace_option
@unused_for_option("Remove the entries not used for this many days (0: every entry).")
@user_errors
def cache_prune_command(workspace: Path | None, days: float) -> None:
    """Remove cache entries not used for DAYS days; the next run that needs one makes it again.

    \b
    Example:
      evaluator cache prune --unused-for 30
      Removed 96 entries (41.8 MB) unused for 30 days or more from /home/me/.cache/wellbeing-evaluator.
    """
    cache = _existing_cache(workspace)
    removed, freed = cache.prune(days)
    click.echo(
        f"Removed {removed} entries ({_megabytes(freed)}) unused for {days:g} days or more from {cache.root}."
    )


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    help="Workspace folder to assess into [default: workspace] (with --database: this machine's cache "
    "and reports, by default in the evaluator's cache folder).",
)
@database_option
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes (each loads the model once); 1 assesses in this process.",
)
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds allowed per document; a document that takes longer is recorded as failed.",
)
@click.option("--max-pages", type=click.IntRange(min=1), help="Assess only the first N pages of each PDF.")
@click.option(
    "--worker-growth",
    type=click.FloatRange(min=16),
    metavar="MB",
    help="Replace a worker between documents once its memory has grown by this much since it loaded "
    "the models, to bound a long screen's memory [default: 192].",
)
@rubric_option
@model_option
@review_below_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@user_errors
def screen(
    paths: tuple[Path, ...],
    workspace: Path | None,
    database: str | None,
    workers: int,
    timeout: float,
    max_pages: int | None,
    worker_growth: float | None,
    rubric_path: Path | None,
    model_path: Path | None,
    review_below: float | None,
    quiet: bool,
) -> None:
    """Assess every PDF, .txt and .md under PATHS into a workspace, then write the corpus reports.

    A folder with a MANIFEST.tsv (a doc_id column) is screened as listed; other folders are searched,
    skipping hidden files and READMEs. Resumable: documents already assessed with the same file, rubric and model are skipped, so an
    interrupted screen continues where it stopped. Exit code 1 when any file failed.

    \b
    Example:
      evaluator screen strategies/ --workspace review-2025/
      evaluator report --workspace review-2025/
      # several machines screening into one team database: each claims documents the others are not doing
      evaluator screen strategies/ --database postgresql://evaluator@db.example/hws
    """
    from evaluator.workspace.backend import redact
    from evaluator.workspace.batch import screen as run_screen
    from evaluator.workspace.corpus_report import print_summary
    from evaluator.workspace.pool import RECYCLE_GROWTH_MB

    try:
        summary = run_screen(
            paths,
            _workspace(workspace, database, create=True, default=Path("workspace")),
            workers=workers,
            timeout=timeout,
            max_pages=max_pages,
            rubric=rubric_path,
            judge=model_path,
            review_below=review_below,
            quiet=quiet,
            recycle_growth_mb=worker_growth or RECYCLE_GROWTH_MB,
        )
    except KeyboardInterrupt:
        where = redact(database) if database else workspace or "workspace"
        click.echo(
            f"Interrupted: finished documents are saved in {where}; run the same command to continue.",
            err=True,
        )
        sys.exit(130)
    print_summary(summary)
    if summary.failed:
        sys.exit(1)


@main.command()
@click.option(
    "--workspace",
    type=WorkspaceLocation(),
    help="Workspace folder made by `evaluator screen` (or a postgresql:// URL) [default: workspace].",
)
@database_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the reports here instead of WORKSPACE/reports (e.g. for a read-only workspace).",
)
@user_errors
def report(workspace: Path | str | None, database: str | None, out: Path | None) -> None:
    """Write the corpus reports of a workspace: summary CSV/XLSX, level heatmap, HTML index.

    \b
    Example:
      evaluator report --workspace review-2025/
      open review-2025/reports/index.html
    """
    from evaluator.workspace.corpus_report import write_reports

    folder = write_reports(_workspace(workspace, database, default=Path("workspace")), out=out)
    click.echo(f"Reports in {folder}: index.html, summary.csv, summary.xlsx, heatmap.png")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
