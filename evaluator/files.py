"""File helpers every part uses: a file's sha256, and writing a file so that no reader ever sees half of it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from evaluator.errors import WorkspaceError

CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, read in 1 MiB chunks; ``OSError`` if it cannot be read."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def replacing(path: Path, *, then: str = "then run the same command to continue") -> Iterator[Path]:
    """A temporary name beside ``path`` to write to; renamed over ``path`` when the block succeeds, removed
    when it fails. A failure to write (a full disk, a read-only folder) is a one-line ``WorkspaceError``
    naming ``path`` and ending with ``then`` (what to do next).

    The temporary name is unique per call (threads and processes may write the same file at once) and
    ends in ``.tmp``, so a folder scan for the real files (``*.png``) never picks it up.
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise WorkspaceError(
            f"Cannot write {path}: {exc.strerror or exc}. Free disk space or make the folder "
            f"writable, {then}."
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def atomic_write(
    path: Path, data: str | bytes, *, then: str = "then run the same command to continue"
) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file and a rename (see ``replacing``)."""
    with replacing(path, then=then) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
