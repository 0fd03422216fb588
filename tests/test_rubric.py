"""The rubric: the shipped maturity model, its validation messages, the CLI and the wheel."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from support import REPO, SHARED

from evaluator.cli import main
from evaluator.errors import RubricError
from evaluator.rubric import (
    default_rubric_path,
    load_rubric,
    load_schema,
    rubric_hash,
    rubric_to_dict,
    wording_hash,
)
from evaluator.types import HALLMARK_IDS, RUBRIC_LEVELS

TSV = SHARED / "rubric-descriptors.tsv"
GOLD = SHARED / "gold"

# A minimal valid rubric; each invalid case below is one textual edit of it.
TINY = """\
id: tiny
version: "0.1.0"
title: Tiny rubric
hallmarks:
  - id: "1"
    title: Definition of wellbeing
    descriptors:
      - id: 1.A.1
        level: assuring
        text: Wellbeing defined as distinct from health.
        requires_wellbeing: true
        queries: ["Wellbeing is more than health.", "We define wellbeing broadly.", "Wellbeing means feeling good."]
        cues: ["definition of wellbeing", "wellbeing means"]
"""
SECOND = """\
      - id: 1.O.1
        level: optimising
        text: Wellbeing at individual and community level.
        requires_wellbeing: true
        queries: ["Community wellbeing matters.", "People and places both matter.", "Wellbeing of communities."]
        cues: ["community wellbeing", "individual wellbeing"]
"""


def write(tmp_path: Path, text: str, name: str = "rubric.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rubric_error(path: Path) -> str:
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


# ----------------------------------------------------------------------------- the shipped rubric


def test_shipped_rubric_loads_with_seven_hallmarks_and_57_descriptors():
    rubric = load_rubric()
    assert (rubric.id, rubric.version) == ("wwcw-maturity-model", "1.0.0")
    assert "Smithson" in rubric.source and "What Works Centre for Wellbeing" in rubric.source
    assert [h.id for h in rubric.hallmarks] == list(HALLMARK_IDS)
    assert len(rubric.descriptors) == 57
    for hallmark in rubric.hallmarks:
        assert hallmark.title
        levels = [d.level for d in hallmark.descriptors]
        assert levels == sorted(levels, key=RUBRIC_LEVELS.index), f"hallmark {hallmark.id} not in level order"
        assert all(d.hallmark == hallmark.id for d in hallmark.descriptors)


def test_shipped_rubric_matches_the_descriptor_table_exactly():
    if not TSV.exists():
        pytest.skip(f"{TSV} not available (../shared is beside the repo in CI)")
    with TSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    rubric = load_rubric()
    assert [(d.id, d.hallmark, d.level, d.text) for d in rubric.descriptors] == [
        (row["id"], row["hallmark"], row["level"], row["descriptor"]) for row in rows
    ]


def test_every_descriptor_has_enough_queries_and_specific_cues():
    for d in load_rubric().descriptors:
        assert 4 <= len(d.queries) <= 8, d.id
        assert 3 <= len(d.cues) <= 15, d.id
        assert all(cue == cue.lower() and cue.strip() == cue for cue in d.cues), d.id
        assert not {"health", "data", "wellbeing", "strategy"} & set(d.cues), f"{d.id}: cue too generic"


def test_requires_wellbeing_choices():
    rubric = load_rubric()
    assert rubric.descriptor("2.A.2").requires_wellbeing is False  # healthy life expectancy is a health goal
    assert all(d.requires_wellbeing for d in rubric.hallmarks[0].descriptors)  # hallmark 1 is the definition
    assert not any(
        d.requires_wellbeing for d in rubric.hallmarks[-1].descriptors
    )  # hallmark 6: implementation
    assert rubric.descriptor("3b.A.1").requires_wellbeing is True


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


# Standard names that any strategy may use and gold quotes happen to contain.
STANDARD_PHRASES = [
    "the what works centre for wellbeing",
    "to improve the health and wellbeing of",
    # the standard wording of the slope index of inequality in public-health reporting
    "the gap between the most and least deprived areas",
    "the gap between the most and least deprived neighbourhoods",
]


def test_queries_are_generic_not_copied_from_gold_documents():
    """Accuracy is measured on unseen documents: no query echoes a gold quote (six words in a row) and
    no query or cue names a gold document's place."""
    if not GOLD.exists():
        pytest.skip(f"{GOLD} not available")
    gold: set[tuple[str, ...]] = set()
    for path in GOLD.glob("*.json"):
        for label in json.loads(path.read_text(encoding="utf-8"))["descriptors"].values():
            for quote in (label.get("quote"), label.get("alt_quote")):
                gold |= _ngrams(_words(quote or ""), 6)
    for phrase in STANDARD_PHRASES:
        gold -= _ngrams(_words(phrase), 6)
    rubric = load_rubric()
    echoes = [(d.id, q) for d in rubric.descriptors for q in d.queries if _ngrams(_words(q), 6) & gold]
    assert not echoes
    places = r"\b(sussex|kent|crawley|horsham|arun|bognor|littlehampton|worthing|adur|chichester)\b"
    texts = [t.lower() for d in rubric.descriptors for t in d.queries + d.cues]
    assert not [t for t in texts if re.search(places, t)]


def test_default_rubric_is_cached_but_each_caller_gets_its_own_copy():
    first = load_rubric()
    first.hallmarks[0].descriptors[0].cues.append("mutated")
    assert "mutated" not in load_rubric().hallmarks[0].descriptors[0].cues
    assert default_rubric_path().name == "maturity-model.yaml" and default_rubric_path().is_file()


def test_rubric_hash_is_stable_and_changes_with_any_edit(tmp_path):
    assert rubric_hash(load_rubric()) == rubric_hash(load_rubric(default_rubric_path()))
    assert re.fullmatch(r"[0-9a-f]{16}", rubric_hash(load_rubric()))
    base = rubric_hash(load_rubric(write(tmp_path, TINY)))
    edited = rubric_hash(
        load_rubric(write(tmp_path, TINY.replace('"wellbeing means"', '"wellbeing is"'), "b.yaml"))
    )
    assert base != edited


def test_wording_hash_follows_what_descriptors_say_not_how_they_are_scored():
    """The key of cached embeddings: cues, patterns and titles are re-scored, wording and queries re-embedded."""
    base = wording_hash(load_rubric())
    scored = load_rubric()
    scored.hallmarks[0].title = "Our own first hallmark"
    scored.hallmarks[0].descriptors[0].cues.append("how people feel")
    scored.hallmarks[0].descriptors[0].met_when.append("by wellbeing we mean")
    assert wording_hash(scored) == base
    assert rubric_hash(scored) != rubric_hash(load_rubric())
    for edit in ("text", "queries"):
        said = load_rubric()
        descriptor = said.hallmarks[2].descriptors[1]
        if edit == "text":
            descriptor.text += " locally"
        else:
            descriptor.queries.append("We collect local data on how residents feel.")
        assert wording_hash(said) != base, edit


def test_schema_is_valid_draft_2020_12_and_accepts_the_shipped_file():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    data = yaml.safe_load(default_rubric_path().read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)


def test_rubric_round_trips_through_its_file_shape(tmp_path):
    rubric = load_rubric()
    path = write(tmp_path, yaml.safe_dump(rubric_to_dict(rubric), sort_keys=False, allow_unicode=True))
    assert load_rubric(path) == rubric


# ------------------------------------------------------------------------------- invalid files


def test_tiny_rubric_is_valid(tmp_path):
    rubric = load_rubric(write(tmp_path, TINY + SECOND))
    assert [d.id for d in rubric.descriptors] == ["1.A.1", "1.O.1"]


def test_bad_level_names_the_field_and_the_valid_levels(tmp_path):
    path = write(tmp_path, TINY.replace("level: assuring", "level: high"))
    assert rubric_error(path) == (
        f"{path}:9: hallmarks[0].descriptors[0].level: 'high' is not valid; "
        "must be one of assuring, optimising, maximising"
    )


def test_bad_id_names_the_field_and_the_pattern(tmp_path):
    message = rubric_error(write(tmp_path, TINY.replace("id: 1.A.1", "id: 1.X.1")))
    assert ":8: hallmarks[0].descriptors[0].id: '1.X.1' is not valid; must look like 3a.A.2" in message


def test_duplicate_id(tmp_path):
    message = rubric_error(
        write(tmp_path, TINY + SECOND.replace("1.O.1", "1.A.1").replace("optimising", "assuring"))
    )
    assert "hallmarks[0].descriptors[1].id: duplicate descriptor id '1.A.1'" in message
    assert "first at hallmarks[0].descriptors[0]" in message


def test_missing_field(tmp_path):
    message = rubric_error(
        write(tmp_path, TINY.replace("        text: Wellbeing defined as distinct from health.\n", ""))
    )
    assert "hallmarks[0].descriptors[0].text: missing; required fields here are id, level, text" in message


def test_unknown_field(tmp_path):
    message = rubric_error(
        write(
            tmp_path,
            TINY.replace("        level: assuring\n", "        level: assuring\n        weight: 2\n"),
        )
    )
    assert (
        "hallmarks[0].descriptors[0].weight: unknown field; allowed fields here are id, hallmark, level"
        in message
    )


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = write(
        tmp_path, TINY.replace('cues: ["definition of wellbeing"', 'cues: ["definition of wellbeing')
    )
    message = rubric_error(path)
    assert re.match(rf"{re.escape(str(path))}:\d+: YAML error at line \d+, column \d+: ", message)


def test_duplicate_yaml_key_is_an_error_not_silently_dropped(tmp_path):
    message = rubric_error(write(tmp_path, TINY + '        cues: ["other cue", "another cue"]\n'))
    assert "YAML error at line 14, column 9: duplicate key 'cues' (first at line 13)" in message


def test_level_letter_must_match_level(tmp_path):
    message = rubric_error(write(tmp_path, TINY.replace("id: 1.A.1", "id: 1.O.1")))
    assert message.endswith(
        "hallmarks[0].descriptors[0].id: '1.O.1' has level letter O but level is assuring; "
        "use id 1.A.1 or level optimising"
    )


def test_id_prefix_must_match_hallmark(tmp_path):
    message = rubric_error(write(tmp_path, TINY.replace("id: 1.A.1", "id: 2.A.1")))
    assert (
        "hallmarks[0].descriptors[0].id: '2.A.1' is listed under hallmark '1'; its id must start with '1.'"
        in message
    )


def test_met_when_patterns_must_be_regular_expressions(tmp_path):
    """A rubric author's explicit-statement pattern that does not compile is named with its line."""
    good = TINY + '        met_when: ["\\\\bwell-?being\\\\s+means\\\\b"]\n'
    assert load_rubric(write(tmp_path, good)).descriptors[0].met_when == ["\\bwell-?being\\s+means\\b"]
    message = rubric_error(write(tmp_path, TINY + '        met_when: ["wellbeing (means"]\n'))
    assert (
        ":14: hallmarks[0].descriptors[0].met_when[0]: 'wellbeing (means' is not a regular expression"
        in message
    )


def test_every_hallmark_needs_an_assuring_descriptor(tmp_path):
    text = TINY.replace("id: 1.A.1", "id: 1.M.1").replace("level: assuring", "level: maximising")
    message = rubric_error(write(tmp_path, text))
    assert "hallmarks[0].descriptors: hallmark '1' has no assuring descriptor" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('id: "1"', "id: 1", 'hallmarks[0].id: 1 is not valid; must be one of "1", "2", "3a"'),
        ('version: "0.1.0"', "version: 0.1", "version: 0.1 is not valid; must be a quoted semantic version"),
        (
            '"wellbeing means"',
            '"wellbeing\\\\s+means"',
            "hallmarks[0].descriptors[0].cues[1]: 'wellbeing\\\\s+means' is not valid; must be a lowercase plain phrase",
        ),
        (
            '"wellbeing means"',
            '"Wellbeing Means"',
            "cues[1]: 'Wellbeing Means' is not valid; must be a lowercase plain phrase",
        ),
        (
            "requires_wellbeing: true",
            "requires_wellbeing: yes please",
            "requires_wellbeing: 'yes please' is a string; must be true or false",
        ),
        ('"We define wellbeing broadly.", ', "", "queries: has 2 item(s); must have at least 3"),
        (
            '"wellbeing means"',
            '"definition of wellbeing"',
            "cues: 'definition of wellbeing' is repeated; items must be unique",
        ),
        (
            "title: Tiny rubric\n",
            "",
            "rubric.yaml:1: title: missing; required fields here are id, version, title, hallmarks",
        ),
    ],
)
def test_schema_errors_name_the_field_and_what_is_valid(tmp_path, old, new, expected):
    assert old in TINY
    assert expected in rubric_error(write(tmp_path, TINY.replace(old, new)))


def test_missing_empty_and_non_mapping_files(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert rubric_error(missing) == f"{missing}: rubric file not found; give the path to a rubric YAML file"
    assert "the file is empty" in rubric_error(write(tmp_path, "# nothing\n", "empty.yaml"))
    assert "(top level): ['a', 'b'] is a list; must be a mapping" in rubric_error(
        write(tmp_path, "[a, b]\n", "list.yaml")
    )


# ---------------------------------------------------------------------------------------- CLI


def test_cli_validate_shipped_rubric():
    result = CliRunner().invoke(main, ["rubric", "validate", str(default_rubric_path())])
    assert result.exit_code == 0, result.output
    assert result.output == "OK: wwcw-maturity-model 1.0.0: 7 hallmarks, 57 descriptors\n"


def test_cli_validate_bad_rubric_exits_1_with_one_line(tmp_path):
    path = write(tmp_path, TINY.replace("level: assuring", "level: high"))
    result = CliRunner().invoke(main, ["rubric", "validate", str(path)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path}:9: hallmarks[0].descriptors[0].level: 'high' is not valid; "
        "must be one of assuring, optimising, maximising\n"
    )


def test_cli_show_table_and_yaml(tmp_path):
    runner = CliRunner()
    table = runner.invoke(main, ["rubric", "show"])
    assert table.exit_code == 0, table.output
    assert "Hallmark 3a: Powered by evidence of wellbeing need" in table.output
    assert re.search(r"^  2\.A\.2 +assuring +no ", table.output, re.M)
    assert (
        sum(1 for line in table.output.splitlines() if re.match(r"  (1|2|3a|3b|4|5|6)\.[AOM]\.\d", line))
        == 57
    )
    dumped = runner.invoke(main, ["rubric", "show", "--format", "yaml"])
    assert dumped.exit_code == 0
    path = write(tmp_path, dumped.output)
    assert runner.invoke(main, ["rubric", "validate", str(path)]).exit_code == 0
    assert "--format" in runner.invoke(main, ["rubric", "show", "--help"]).output
    assert "Example" in runner.invoke(main, ["rubric", "validate", "--help"]).output


# -------------------------------------------------------------------------------------- wheel


def test_rubric_files_are_in_the_wheel(tmp_path):
    """Build the wheel from a copy of the sources (never in the shared tree) and look inside."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    src.mkdir()
    shutil.copy2(REPO / "pyproject.toml", src / "pyproject.toml")
    for folder in ("evaluator", "rubric"):
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    readme = REPO / "README.md"
    (src / "README.md").write_text(readme.read_text(encoding="utf-8") if readme.exists() else "readme\n")
    started = time.monotonic()
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-cache-dir",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    assert time.monotonic() - started < 60
    (wheel,) = (tmp_path / "dist").glob("wellbeing_evaluator-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "evaluator/rubric_data/maturity-model.yaml",
        "evaluator/rubric_data/schema.json",
        "evaluator/rubric_data/__init__.py",
        "evaluator/rubric.py",
        "evaluator/models/judge.json",
        "evaluator/stages/__init__.py",
        "evaluator/evaluation/__init__.py",
        "evaluator/workspace/templates/export.html",
        "evaluator/workspace/templates/index.html",
        "evaluator/review/templates/base.html",
    } <= names
    shipped = zipfile.ZipFile(wheel).read("evaluator/rubric_data/maturity-model.yaml")
    assert shipped == (REPO / "rubric" / "maturity-model.yaml").read_bytes()
