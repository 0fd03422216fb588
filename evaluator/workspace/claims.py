"""Who screens which document: work handed out locally, or claimed through the database by several
machines screening into one PostgreSQL workspace.

A machine registers the documents it plans to assess (keyed by cache key: same file, rubric and
models) and claims them one at a time: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks a document nobody
holds, and the claim carries a lease that a heartbeat renews while the document is assessed. A
finished (or failed) document is marked done and never claimed again; a killed machine's lease runs
out and another machine takes the document over. Leases are compared in the machines' own clocks:
keep them in step (NTP).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from evaluator.workspace.progress import Work
from evaluator.workspace.store import Workspace

LEASE_SECONDS = 300.0
POLL_SECONDS = 1.0  # how often a machine with nothing to claim looks again while others hold leases


class WorkQueue(Protocol):
    def take(self) -> int | None: ...  # the index of the next document to assess; None: none free now
    def more(self) -> bool: ...  # anything left to assess here (free now or held by others)
    def finished(self, index: int) -> None: ...
    def close(self) -> None: ...


class LocalQueue:
    """One machine: every planned document, in order."""

    def __init__(self, count: int):
        self.pending = deque(range(count))

    def take(self) -> int | None:
        return self.pending.popleft() if self.pending else None

    def more(self) -> bool:
        return bool(self.pending)

    def finished(self, index: int) -> None:
        pass

    def close(self) -> None:
        pass


class ClaimQueue:
    """Documents shared with the other machines screening into the same database."""

    def __init__(
        self,
        ws: Workspace,
        work: Sequence[Work],
        cache_key: Callable[[str], str],
        lease: float = LEASE_SECONDS,
    ):
        self.ws, self.lease = ws, lease
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.keys = [cache_key(sha) for _, _, sha in work]
        self.index = {key: i for i, key in enumerate(self.keys)}
        with ws.connect() as conn:
            conn.executemany(  # a document planned again (it failed, or its suggestion was superseded) is open again
                "INSERT INTO claims (cache_key, sha256) VALUES (?, ?) "
                "ON CONFLICT (cache_key) DO UPDATE SET done = 0 WHERE claims.done = 1",
                [(key, sha) for key, (_, _, sha) in zip(self.keys, work, strict=True)],
            )
        self._open = set(self.keys)  # not yet known to be done
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="evaluator-claim-lease")
        self._beat.start()

    def _in(self, keys: Sequence[str]) -> str:
        return ", ".join("?" * len(keys))

    def take(self) -> int | None:
        while self._open:
            keys = sorted(self._open)
            with self.ws.connect() as conn:
                if not conn.postgres:
                    conn.lock("claims")  # SQLite: one writer at a time stands in for row locks
                row = conn.execute(
                    f"SELECT cache_key, sha256 FROM claims WHERE cache_key IN ({self._in(keys)}) AND done = 0 "
                    f"AND lease_until < ? ORDER BY cache_key LIMIT 1{conn.skip_locked}",
                    [*keys, time.time()],
                ).fetchone()
                if row is None:
                    return None
                key = row[0]
                conn.execute(
                    "UPDATE claims SET owner = ?, lease_until = ? WHERE cache_key = ?",
                    (self.owner, time.time() + self.lease, key),
                )
            current = self.ws.current(row[1])
            if current is not None and current.cache_key == key:  # assessed, its claim not closed
                self.finished(self.index[key])
                continue
            return self.index[key]
        return None

    def more(self) -> bool:
        if not self._open:
            return False
        keys = sorted(self._open)
        with self.ws.connect() as conn:
            done = conn.execute(
                f"SELECT cache_key FROM claims WHERE cache_key IN ({self._in(keys)}) AND done = 1", keys
            ).fetchall()
        self._open -= {r[0] for r in done}
        return bool(self._open)

    def finished(self, index: int) -> None:
        key = self.keys[index]
        with self.ws.connect() as conn:
            conn.execute("UPDATE claims SET done = 1, lease_until = 0 WHERE cache_key = ?", (key,))
        self._open.discard(key)

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                with self.ws.connect() as conn:
                    conn.execute(
                        "UPDATE claims SET lease_until = ? WHERE owner = ? AND done = 0",
                        (time.time() + self.lease, self.owner),
                    )
            except Exception:  # noqa: BLE001 - a missed beat only shortens the lease; the next one retries
                continue

    def close(self) -> None:
        """Stop renewing, and hand back what this machine holds unfinished (an interrupted screen)."""
        self._stop.set()
        self._beat.join(timeout=5)
        with self.ws.connect() as conn:
            conn.execute(
                "UPDATE claims SET owner = '', lease_until = 0 WHERE owner = ? AND done = 0", (self.owner,)
            )


def drain(queue: WorkQueue, poll: float = POLL_SECONDS) -> Iterator[int]:
    """Every document this process should assess, waiting while other machines hold the rest."""
    while queue.more():
        index = queue.take()
        if index is None:
            time.sleep(poll)
            continue
        yield index
