"""Load and validate the maturity model (rubric) that every stage scores against.

The shipped rubric is ``rubric/maturity-model.yaml``, installed as the package data
``evaluator.rubric_data``. A rubric file is checked in three steps, and the first problem found is
raised as one ``RubricError`` line naming the file, the line, the field and what would be valid::

    rubric.yaml:57: hallmarks[2].descriptors[1].level: 'high' is not valid; must be one of assuring, optimising, maximising

1. YAML: syntax errors and duplicate keys (PyYAML would silently keep the last one);
2. ``schema.json`` (JSON Schema 2020-12): fields, types, level names, id pattern, cue syntax;
3. what a schema cannot express: unique ids, id prefix = hallmark, id letter = level, an
   assuring descriptor in every hallmark, and ``met_when`` patterns that compile.

``rubric_hash`` fingerprints the content, so caches keyed on it are invalidated by any edit.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import yaml

from evaluator.errors import RubricError
from evaluator.types import RUBRIC_LEVELS, Rubric

__all__ = [
    "DEFAULT_RUBRIC_NAME",
    "default_rubric_path",
    "descriptor_info",
    "hallmark_title",
    "load_rubric",
    "load_schema",
    "rubric_hash",
    "rubric_to_dict",
]

DEFAULT_RUBRIC_NAME = "maturity-model.yaml"
SCHEMA_NAME = "schema.json"
LEVEL_LETTERS = {"assuring": "A", "optimising": "O", "maximising": "M"}
LEVEL_OF_LETTER = {letter: level for level, letter in LEVEL_LETTERS.items()}

PathLike = str | os.PathLike[str]
FieldPath = tuple[str | int, ...]


def default_rubric_path() -> Path:
    """The shipped rubric file (inside the installed package ``evaluator.rubric_data``)."""
    return Path(str(importlib.resources.files("evaluator.rubric_data") / DEFAULT_RUBRIC_NAME))


@functools.lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The JSON Schema that a rubric file must satisfy."""
    text = (importlib.resources.files("evaluator.rubric_data") / SCHEMA_NAME).read_text(encoding="utf-8")
    return json.loads(text)


def load_rubric(path: PathLike | None = None) -> Rubric:
    """Read, validate and build a rubric; ``None`` loads the shipped maturity model.

    Raises ``RubricError`` (one line: file, line, field, what would be valid) for any invalid file.
    The shipped rubric is parsed once per process; each call returns its own copy.
    """
    if path is None:
        return _load_default().model_copy(deep=True)
    return _load(Path(path), str(path))


def rubric_hash(rubric: Rubric) -> str:
    """A short (16 hex digits) sha256 of the rubric's canonical JSON: any edit, even to a cue, changes it."""
    return _short_digest(rubric.model_dump(mode="json"))


def wording_hash(rubric: Rubric) -> str:
    """A short sha256 of what the descriptors say: each one's wording and queries, in rubric order. It is
    all that token coverage reads (``stages/coverage.py``), so it keys the cached passage vectors and
    coverage: editing a cue, a ``met_when`` pattern or a title re-scores documents without embedding them
    again; editing a descriptor's wording or queries embeds them again."""
    return _short_digest([[d.text, *d.queries] for d in rubric.descriptors])


def _short_digest(value: Any) -> str:
    """16 hex digits of the sha256 of ``value``'s canonical JSON."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def rubric_to_dict(rubric: Rubric) -> dict[str, Any]:
    """The rubric in its file shape (descriptors nested, without the redundant ``hallmark`` key)."""
    data = rubric.model_dump(mode="json")
    for hallmark in data["hallmarks"]:
        for descriptor in hallmark["descriptors"]:
            descriptor.pop("hallmark", None)
            if not descriptor.get("met_when"):  # optional: most descriptors have none
                descriptor.pop("met_when", None)
    return data


def descriptor_info(rubric: Rubric | None, descriptor_id: str) -> tuple[str, str]:
    """(level, wording) of a descriptor id like ``3a.A.2``; without it in ``rubric``, the level its id
    spells and no wording."""
    if rubric is not None:
        try:
            d = rubric.descriptor(descriptor_id)
            return d.level, d.text
        except KeyError:
            pass
    parts = descriptor_id.split(".")
    return LEVEL_OF_LETTER.get(parts[1] if len(parts) == 3 else "", RUBRIC_LEVELS[0]), ""


def hallmark_title(rubric: Rubric | None, hallmark_id: str) -> str:
    """The hallmark's title in ``rubric``; empty when it has none."""
    for h in rubric.hallmarks if rubric else []:
        if h.id == hallmark_id:
            return h.title
    return ""


# ------------------------------------------------------------------------------------ internals


@functools.lru_cache(maxsize=1)
def _load_default() -> Rubric:
    path = default_rubric_path()
    return _load(path, str(path))


def _load(path: Path, name: str) -> Rubric:
    data, root = _read_yaml(path, name)

    def fail(field: FieldPath, problem: str) -> RubricError:
        line = _line_of(root, field)
        where = f"{name}:{line}" if line else name
        return RubricError(_one_line(f"{where}: {_format_field(field)}: {problem}"))

    if data is None:
        raise RubricError(
            f"{name}: the file is empty; expected a mapping with id, version, title and hallmarks"
        )

    validator = jsonschema.Draft202012Validator(load_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        field, problem = _schema_problem(error)
        raise fail(field, problem)

    _check_consistency(data, fail)

    for hallmark in data["hallmarks"]:
        for descriptor in hallmark["descriptors"]:
            descriptor["hallmark"] = hallmark["id"]
    try:
        return Rubric.model_validate(data)
    except pydantic.ValidationError as exc:  # the schema should have caught it; keep the one-line contract
        first = exc.errors()[0]
        raise fail(tuple(first["loc"]), first["msg"]) from None


def _read_yaml(path: Path, name: str) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError(f"{name}: rubric file not found; give the path to a rubric YAML file") from None
    except IsADirectoryError:
        raise RubricError(f"{name}: is a directory; give the path to a rubric YAML file") from None
    except PermissionError:
        raise RubricError(f"{name}: permission denied; make the rubric file readable") from None
    except UnicodeDecodeError as exc:
        raise RubricError(f"{name}: not UTF-8 text (byte {exc.start}); save the rubric as UTF-8") from None
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}" if mark else name
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        detail = "; ".join(part for part in (exc.problem, exc.context) if part)
        raise RubricError(_one_line(f"{where}: YAML error{at}: {detail}")) from None
    except yaml.YAMLError as exc:
        raise RubricError(_one_line(f"{name}: YAML error: {exc}")) from None
    finally:
        loader.dispose()
    return data, root


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys instead of silently keeping the last one."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:  # unhashable key: let SafeLoader report it
                    continue
                if first is not key_node:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first at line {first.start_mark.line + 1}); each key may appear once",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)


def _schema_problem(error: jsonschema.ValidationError) -> tuple[FieldPath, str]:
    """(field path, what is wrong and what would be valid) for one schema error."""
    field: FieldPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    hint = schema.get("x-message")
    kind = error.validator
    value = error.instance
    if kind == "required":
        missing = [key for key in error.validator_value if key not in value]
        name = missing[0] if missing else "?"
        return field + (name,), f"missing; required fields here are {', '.join(error.validator_value)}"
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        extra = sorted(str(key) for key in value if key not in allowed)
        name = extra[0] if extra else "?"
        return field + (name,), f"unknown field; allowed fields here are {', '.join(allowed)}"
    if hint:
        return field, f"{_show(value)} is not valid; {hint}"
    if kind == "enum":
        return (
            field,
            f"{_show(value)} is not valid; must be one of {', '.join(map(str, error.validator_value))}",
        )
    if kind == "type":
        expected = error.validator_value
        quote = " (quote it in YAML)" if expected == "string" and value is not None else ""
        return field, f"{_show(value)} is {_type_name(value)}; must be {_article(expected)}{quote}"
    if kind == "minItems":
        return field, f"has {len(value)} item(s); must have at least {error.validator_value}"
    if kind == "uniqueItems":
        keys = [json.dumps(item, sort_keys=True) for item in value]
        repeated = next(item for item, key in zip(value, keys, strict=True) if keys.count(key) > 1)
        return field, f"{_show(repeated)} is repeated; items must be unique"
    if kind == "minLength":
        return field, f"{_show(value)} is too short; must have at least {error.validator_value} character(s)"
    return field, error.message


def _check_consistency(data: dict[str, Any], fail) -> None:
    """The rules a JSON Schema cannot express: they relate values across objects."""
    hallmark_at: dict[str, int] = {}
    descriptor_at: dict[str, tuple[int, int]] = {}
    for h, hallmark in enumerate(data["hallmarks"]):
        hid = hallmark["id"]
        if hid in hallmark_at:
            raise fail(
                ("hallmarks", h, "id"),
                f"duplicate hallmark id {hid!r} (first at hallmarks[{hallmark_at[hid]}]); each hallmark appears once",
            )
        hallmark_at[hid] = h
        for d, descriptor in enumerate(hallmark["descriptors"]):
            did, level = descriptor["id"], descriptor["level"]
            here = ("hallmarks", h, "descriptors", d)
            if "hallmark" in descriptor and descriptor["hallmark"] != hid:
                raise fail(
                    here + ("hallmark",),
                    f"{descriptor['hallmark']!r} does not match the enclosing hallmark {hid!r}; set it to {hid!r} or remove it",
                )
            prefix, letter, number = did.split(".")
            if prefix != hid:
                raise fail(
                    here + ("id",),
                    f"{did!r} is listed under hallmark {hid!r}; its id must start with '{hid}.' or it must move to hallmark {prefix!r}",
                )
            if letter != LEVEL_LETTERS[level]:
                wanted = next(name for name, code in LEVEL_LETTERS.items() if code == letter)
                raise fail(
                    here + ("id",),
                    f"{did!r} has level letter {letter} but level is {level}; use id {hid}.{LEVEL_LETTERS[level]}.{number} or level {wanted}",
                )
            if did in descriptor_at:
                first_h, first_d = descriptor_at[did]
                raise fail(
                    here + ("id",),
                    f"duplicate descriptor id {did!r} (first at hallmarks[{first_h}].descriptors[{first_d}]); ids must be unique",
                )
            descriptor_at[did] = (h, d)
            for n, pattern in enumerate(descriptor.get("met_when", [])):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise fail(
                        here + ("met_when", n),
                        f"{pattern!r} is not a regular expression ({exc}); fix it or remove it",
                    ) from None
        if not any(descriptor["level"] == RUBRIC_LEVELS[0] for descriptor in hallmark["descriptors"]):
            raise fail(
                ("hallmarks", h, "descriptors"),
                f"hallmark {hid!r} has no assuring descriptor; each hallmark needs at least one descriptor with level assuring",
            )


def _line_of(root: yaml.Node | None, field: FieldPath) -> int | None:
    """1-based line of the deepest node of ``field`` that exists in the YAML node tree."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in field:
        child = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            child = next(
                (v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None
            )
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def _format_field(field: FieldPath) -> str:
    text = ""
    for part in field:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }
    return "empty (null)" if value is None else names.get(type(value), type(value).__name__)


def _article(expected: Any) -> str:
    names = {
        "string": "a string",
        "array": "a list",
        "object": "a mapping",
        "boolean": "true or false",
        "number": "a number",
        "integer": "an integer",
        "null": "null",
    }
    if isinstance(expected, list):
        return " or ".join(names.get(e) or str(e) for e in expected)
    return names.get(expected, str(expected))


def _one_line(text: str) -> str:
    return " ".join(text.split())
