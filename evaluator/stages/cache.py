"""On-disk cache of extracted documents and embedded passages, keyed by file hash and versions.

Files are written to a temporary name and renamed, so an interrupted run never leaves a half-written
entry that a later run would trust.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import TypeAdapter, ValidationError

from evaluator.files import atomic_write
from evaluator.types import Document, Kind, Passage, Target

if TYPE_CHECKING:
    from evaluator.stages.embed import Encoder

_PASSAGES = TypeAdapter(list[Passage])
_KINDS = TypeAdapter(dict[int, Kind])
_TARGETS = TypeAdapter(list[Target])
_PACKAGE_FOLDERS = re.compile(rb"\bevaluator\.(?:stages|workspace|evaluation|review)\.")


# The files a Cache writes: "<file sha256 or name>-<key digest><suffix>" in a folder named by its first two
# characters, the rubric's text vectors at the top, and what an interrupted write left (files.replacing).
_ENTRY = re.compile(r".+-[0-9a-f]{16}\.(?:document\.json|passages\.npz|kinds\.json|npz)")
_TEXT_VECTORS = re.compile(r"text-vectors-.+\.npz")
_UNFINISHED = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")


@dataclasses.dataclass(frozen=True)
class CacheEntries:
    """What a cache holds: its files, their bytes, and how many days since each was last used."""

    root: Path
    files: list[Path]
    sizes: list[int]
    unused_days: list[float]

    @property
    def size(self) -> int:
        return sum(self.sizes)

    def unused_for(self, days: float) -> list[tuple[Path, int]]:
        """The files not used for ``days`` days or more, with their bytes; an unfinished write only once
        it is an hour old (a run may be writing it now)."""
        rows = zip(self.files, self.sizes, self.unused_days, strict=True)
        return [
            (f, size)
            for f, size, unused in rows
            if unused >= (max(days, 1 / 24) if _UNFINISHED.fullmatch(f.name) else days)
        ]


class Cache:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str, key: str, suffix: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        return self.root / sha256[:2] / f"{sha256}-{digest}{suffix}"

    def entries(self, now: float | None = None) -> CacheEntries:
        """Every file this cache wrote, and nothing else: a workspace keeps its documents and page images
        beside it (``cache/documents``, ``cache/pages``), and those are never counted or removed."""
        now = time.time() if now is None else now
        files = [
            f
            for folder in self.root.iterdir()
            if folder.is_dir() and len(folder.name) == 2
            for f in folder.iterdir()
            if _ENTRY.fullmatch(f.name) or _UNFINISHED.fullmatch(f.name)
        ]
        files += [
            f for f in self.root.iterdir() if _TEXT_VECTORS.fullmatch(f.name) or _UNFINISHED.fullmatch(f.name)
        ]
        stats = []
        for f in sorted(files):
            with contextlib.suppress(OSError):  # removed by another process meanwhile
                stats.append((f, f.stat()))
        return CacheEntries(
            self.root,
            [f for f, _ in stats],
            [st.st_size for _, st in stats],
            [max(0.0, (now - st.st_mtime) / 86400) for _, st in stats],
        )

    def prune(self, unused_days: float, now: float | None = None) -> tuple[int, int]:
        """Remove the entries not used for ``unused_days`` days (0: all of them); (files, bytes) removed.
        What is removed is made again when a document needs it, so nothing is lost but time."""
        removed, freed = 0, 0
        for f, size in self.entries(now).unused_for(unused_days):
            with contextlib.suppress(FileNotFoundError):  # another prune got there first
                f.unlink()
                removed, freed = removed + 1, freed + size
        return removed, freed

    def document(self, sha256: str, version: str) -> Document | None:
        path = self._path(sha256, version, ".document.json")
        try:
            document = Document.model_validate_json(path.read_bytes())
        except (OSError, ValidationError):
            return None
        _used(path)
        return document

    def has_document(self, sha256: str, version: str) -> bool:
        return self._path(sha256, version, ".document.json").exists()

    def put_document(self, document: Document, version: str) -> None:
        atomic_write(
            self._path(document.sha256, version, ".document.json"), document.model_dump_json().encode()
        )

    def passages(self, sha256: str, key: str) -> tuple[list[Passage], np.ndarray, np.ndarray | None] | None:
        """Passages, their vectors and their token coverage (None if it was not stored)."""
        path = self._path(sha256, key, ".passages.npz")
        try:
            with np.load(path, allow_pickle=False) as data:
                passages = _PASSAGES.validate_json(bytes(data["passages"]))
                vectors = data["vectors"]
                coverage = data["coverage"] if "coverage" in data.files else None
        except (OSError, KeyError, ValueError, ValidationError):
            return None
        _used(path)
        return passages, vectors, coverage

    def put_passages(
        self,
        sha256: str,
        key: str,
        passages: list[Passage],
        vectors: np.ndarray,
        coverage: np.ndarray | None = None,
    ) -> None:
        arrays: dict[str, np.ndarray] = {
            "passages": np.frombuffer(_PASSAGES.dump_json(passages), dtype=np.uint8),
            "vectors": np.asarray(vectors, dtype=np.float32),
        }
        if coverage is not None:
            arrays["coverage"] = np.asarray(coverage, dtype=np.float32)
        atomic_write(self._path(sha256, key, ".passages.npz"), _npz(arrays))

    def kinds(self, sha256: str, key: str) -> tuple[dict[int, Kind], list[Target] | None]:
        """The kinds of a document's passages read so far (by passage index) and its targets (None if not
        stored yet), stored by ``put_kinds`` under a digest of its passages and the kinds stage's version."""
        path = self._path(sha256, key, ".kinds.json")
        try:
            data = json.loads(path.read_bytes())
            targets = data.get("targets")
            kinds = _KINDS.validate_python(data["kinds"])
            read = None if targets is None else _TARGETS.validate_python(targets)
        except (OSError, KeyError, TypeError, ValueError):  # pydantic's ValidationError is a ValueError
            return {}, None
        _used(path)
        return kinds, read

    def put_kinds(self, sha256: str, key: str, kinds: dict[int, Kind], targets: list[Target] | None) -> None:
        data = {
            "kinds": {str(i): k for i, k in sorted(kinds.items())},
            "targets": None if targets is None else _TARGETS.dump_python(targets, mode="json"),
        }
        atomic_write(self._path(sha256, key, ".kinds.json"), json.dumps(data).encode())

    def arrays(self, name: str, key: str) -> dict[str, np.ndarray] | None:
        """Arrays stored by ``put_arrays`` under this name (what they are, in place of a file's hash) and
        key (the versions they were made with); None if absent or unreadable."""
        path = self._path(name, key, ".npz")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, KeyError, ValueError):
            return None
        _used(path)
        return arrays

    def put_arrays(self, name: str, key: str, **arrays: np.ndarray) -> None:
        atomic_write(self._path(name, key, ".npz"), _npz(arrays))


def _used(path: Path) -> None:
    """Mark a cache entry as used now (its modification time), so ``prune`` keeps what is still read. A
    cache on a read-only or shared mount is read all the same."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    """The arrays as the bytes of one .npz file, for ``atomic_write``."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


class CachedEncoder:
    """Wraps an encoder so texts it has embedded before (the rubric's queries) come from the cache:
    a rubric edit embeds only the new texts, and re-scoring loads no model at all."""

    def __init__(self, encoder: Encoder, cache: Cache):
        self.encoder, self.name, self.weights_hash = encoder, encoder.name, encoder.weights_hash
        self.precision, self.dim, self.version = encoder.precision, encoder.dim, encoder.version
        self.path = (
            cache.root / f"text-vectors-{encoder.weights_hash[:16]}-{encoder.precision}-{encoder.version}.npz"
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        try:
            with np.load(self.path, allow_pickle=False) as data:
                known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
            _used(self.path)
        except (OSError, KeyError, ValueError):
            known = {}
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
        if missing:
            known.update(zip(missing, self.encoder.encode(list(missing.values())), strict=True))
            stacked = np.stack(list(known.values())).astype(np.float32)
            atomic_write(self.path, _npz({"keys": np.array(list(known)), "vectors": stacked}))
        if not keys:
            return self.encoder.encode([])  # the encoder's own empty shape, (0, dim)
        return np.stack([known[k] for k in keys]).astype(np.float32)


def read_document(
    path: str | os.PathLike[str],
    cache: Cache | None,
    *,
    max_pages: int | None = None,
    sha256: str | None = None,
    extractor: Callable[..., Document] | None = None,
) -> Document:
    """The file's ``Document`` from the cache, else read by ``extractor`` (default ``extract``; or one that
    reads in a memory-capped child) and stored there: a file read once, by any command, is not read again.
    (Here rather than in ``extract``: every module there is part of the extractor's version.)"""
    from evaluator.stages.extract import check_file, document_version, extract

    sha256 = check_file(path, sha256)[2]
    version = document_version(max_pages)
    document = cache.document(sha256, version) if cache else None
    if document is None:
        document = (extractor or extract)(path, max_pages=max_pages, sha256=sha256)
        if cache:
            cache.put_document(document, version)
    return document


def encode_stored(encoder: Encoder, texts: list[str], cache: Cache | None) -> np.ndarray:
    """``encoder.encode(texts)``, kept in the cache as one entry named by a digest of the texts in order:
    a list embedded before (the dense baseline's chunks of one document) is read back, not embedded."""
    if cache is None:
        return encoder.encode(texts)
    name = hashlib.sha256("\x00".join(texts).encode()).hexdigest()
    key = f"texts|{encoder.weights_hash}|{encoder.precision}|{encoder.version}"
    stored = cache.arrays(name, key)
    if stored is not None and stored.get("vectors", np.empty(0)).shape[:1] == (len(texts),):
        return stored["vectors"]
    vectors = encoder.encode(texts)
    cache.put_arrays(name, key, vectors=vectors)
    return vectors


def passages_digest(passages: list[Passage]) -> str:
    """A digest of passages as stored (text, page, box, headings, block kind): what is read from them."""
    return hashlib.sha256(_PASSAGES.dump_json(passages)).hexdigest()[:16]


def default_cache_dir() -> Path:
    """$EVALUATOR_CACHE, else $XDG_CACHE_HOME/wellbeing-evaluator, else ~/.cache/wellbeing-evaluator."""
    if os.environ.get("EVALUATOR_CACHE"):
        return Path(os.environ["EVALUATOR_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "wellbeing-evaluator"


def settings_digest(settings: object) -> str:
    """A short digest of a frozen settings dataclass: part of the version of the stage it tunes."""
    values = dataclasses.asdict(settings)  # type: ignore[call-overload]
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]


def source_digest(*module_files: str) -> str:
    """A short digest of a stage's source files: part of the stage's version, so editing the code of a
    cached stage invalidates its cache entries (no stale extraction survives a fix).

    The package's folders are left out of module names (``evaluator.stages.cache`` reads as
    ``evaluator.cache``): moving a module between folders is not a change of its code, and keeps its
    version and its cache entries."""
    digest = hashlib.sha256()
    for module_file in module_files:
        digest.update(_PACKAGE_FOLDERS.sub(b"evaluator.", Path(module_file).read_bytes()))
    return digest.hexdigest()[:10]
