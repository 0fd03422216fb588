"""Areas in a screen: rows of a folder's MANIFEST.tsv that share a ``group`` are also assessed together.

The documents are screened one by one first (each is then in the cache), so an area only re-matches and
re-judges their passages. The area is stored like any assessment (its ``document.sha256`` identifies the
set, see ``evaluator.area.area_sha256``), skipped when nothing changed, and re-assessed when a member
file, the rubric or a model changes. A member that failed in the same screen is not read again: the area
is assessed on the others and names it.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from evaluator.area import AreaMember, area_sha256, assess_area
from evaluator.errors import EvaluatorError
from evaluator.files import atomic_write
from evaluator.pipeline import Pipeline, file_sha256
from evaluator.types import SourceDocument
from evaluator.workspace.discover import MANIFEST, SUFFIXES
from evaluator.workspace.record import Recorder, _outcome

Group = tuple[str, list[AreaMember]]


def manifest_groups(paths: Iterable[str | os.PathLike[str]]) -> list[Group]:
    """The areas named by the ``group`` column of the manifests of the given folders (with the ``role``
    column as each document's role, when there is one), in manifest order."""
    groups: dict[str, list[AreaMember]] = {}
    for folder in map(Path, paths):
        if not (folder.is_dir() and (folder / MANIFEST).is_file()):
            continue
        with open(folder / MANIFEST, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        for row in rows:
            name, doc_id = (row.get("group") or "").strip(), (row.get("doc_id") or "").strip()
            if not name or not doc_id or Path(doc_id).name != doc_id:
                continue  # a bad doc_id is reported by the screen itself
            candidates = [folder / f"{doc_id}{suffix}" for suffix in SUFFIXES]
            path = next((c for c in candidates if c.is_file()), candidates[0]).resolve()
            groups.setdefault(name, []).append(AreaMember(path, doc_id, (row.get("role") or "").strip()))
    return list(groups.items())


def _key(name: str, members: list[AreaMember], shas: Mapping[str, str], pipeline: Pipeline) -> str:
    parts = [name] + [
        f"{m.id}:{m.role}:{pipeline.cache_key(shas[m.id]) if m.id in shas else m.error}" for m in members
    ]
    return "area-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def screen_areas(groups: list[Group], pipeline: Pipeline, batch: Recorder) -> None:
    """Assess each group as one area into the batch's workspace (skipped when unchanged)."""
    failed = {o.path: o.reason for o in batch.summary_of("failed")}
    for name, listed in groups:
        members, shas = [], {}
        for m in listed:
            error = failed.get(str(m.path), "")
            if not error:
                try:
                    shas[m.id] = file_sha256(m.path)
                except EvaluatorError as exc:
                    error = str(exc)
            members.append(AreaMember(m.path, m.id, m.role, error))
        key = _key(name, members, shas, pipeline)
        sha = area_sha256(
            name, [SourceDocument(id=m.id, path=str(m.path), sha256=shas.get(m.id, "")) for m in members]
        )
        current = batch.ws.current(sha)
        label = f"area {name}"
        if current is not None and current.cache_key == key:
            batch.add(_outcome(label, "skipped", current.assessment, current.id, "unchanged"))
            continue
        try:
            area = assess_area(members, name, pipeline).assessment
        except EvaluatorError as exc:
            batch.fail(label, str(exc))
            continue
        slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
        atomic_write(
            batch.ws.folder("assessments") / f"area-{slug}-{area.document.sha256[:12]}.json",
            area.model_dump_json(indent=2),
        )
        for source in area.documents:  # a team server draws the members' pages from the database
            if not source.error:
                batch.ws.store_document_file(source.sha256, source.path)
        new_id = batch.ws.save_assessment(area, cache_key=key, run_id=batch.run_id)
        batch.add(_outcome(label, "ok", area, new_id))
