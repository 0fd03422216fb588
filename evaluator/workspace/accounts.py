"""Reviewer accounts for a team: names, roles, password hashes and server-side sessions.

A workspace with at least one account is in team mode: the review app asks everyone to sign in, and
the reviewer recorded on a decision is the signed-in account. Roles: ``reviewer`` decides and judges
evidence; ``adjudicator`` also records the consensus; ``admin`` also manages accounts. A new account
(or a reset one) gets a one-time password, to be replaced at first sign-in.

Passwords are hashed with scrypt (``hashlib.scrypt``, a standard memory-hard KDF; salt and cost are
stored in the hash). Sessions are random tokens; the database keeps only their sha256, so reading the
sessions table does not let anyone sign in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import unicodedata
from dataclasses import dataclass

from evaluator.errors import EvaluatorError
from evaluator.workspace.store import Workspace, utc_now

ROLES = ("reviewer", "adjudicator", "admin")
MIN_PASSWORD = 12
MAX_NAME = 100
SESSION_SECONDS = 12 * 3600
SCRYPT = {"n": 2**15, "r": 8, "p": 1}  # about 32 MB and a tenth of a second per hash


class AccountError(EvaluatorError):
    """An account cannot be added, changed or used as asked."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    must_change: bool = False

    @property
    def adjudicates(self) -> bool:
        return self.role == "adjudicator"

    @property
    def admin(self) -> bool:
        return self.role == "admin"


# ------------------------------------------------------------------ passwords


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    n, r, p = SCRYPT["n"], SCRYPT["r"], SCRYPT["p"]
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_password(stored: str, password: str) -> bool:
    try:
        kind, n, r, p, salt, key = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=2**26,
            dklen=len(base64.b64decode(key)),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(key))


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))  # unknown names cost as much as wrong passwords


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Choose a password of at least {MIN_PASSWORD} characters.")
    if len(password) > 1000:
        raise AccountError("That password is over 1,000 characters; choose a shorter one.")


def _clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name.strip())
    if not name or len(name) > MAX_NAME or any(unicodedata.category(c).startswith("C") for c in name):
        raise AccountError(f"An account name is 1 to {MAX_NAME} printable characters, e.g. 'Ana Silva'.")
    return name


# ------------------------------------------------------------------ accounts


def has_accounts(ws: Workspace) -> bool:
    with ws.connect() as conn:
        return conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def add_user(ws: Workspace, name: str, role: str) -> tuple[User, str]:
    """A new account and its one-time password (shown once, to give to the person)."""
    name = _clean_name(name)
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    password = one_time_password()
    with ws.connect() as conn:
        conn.lock("users")
        if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise AccountError(
                f"There is already an account {name!r}; `evaluator users reset` gives it a new password."
            )
        user_id = conn.insert(
            "INSERT INTO users (name, role, password_hash, must_change, created_at) VALUES (?, ?, ?, 1, ?)",
            (name, role, hash_password(password), utc_now()),
        )
    return User(user_id, name, role, True), password


def users(ws: Workspace) -> list[tuple[User, bool]]:
    """Every account, with whether it is disabled."""
    with ws.connect() as conn:
        rows = conn.execute(
            "SELECT id, name, role, must_change, disabled FROM users ORDER BY name"
        ).fetchall()
    return [(User(r[0], r[1], r[2], bool(r[3])), bool(r[4])) for r in rows]


def _named(ws: Workspace, name: str) -> int:
    with ws.connect() as conn:
        row = conn.execute("SELECT id FROM users WHERE name = ?", (name.strip(),)).fetchone()
    if row is None:
        raise AccountError(f"No account {name!r}; `evaluator users list` shows them.")
    return int(row[0])


def reset_password(ws: Workspace, name: str) -> str:
    """A new one-time password; the account's sessions end."""
    user_id, password = _named(ws, name), one_time_password()
    with ws.connect() as conn:
        conn.execute(
            "UPDATE users SET password_hash = ?, must_change = 1, disabled = 0 WHERE id = ?",
            (hash_password(password), user_id),
        )
        conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
    return password


def disable_user(ws: Workspace, name: str) -> None:
    """The account can no longer sign in; its decisions stay, attributed to it."""
    user_id = _named(ws, name)
    with ws.connect() as conn:
        conn.execute("UPDATE users SET disabled = 1 WHERE id = ?", (user_id,))
        conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))


def set_password(ws: Workspace, user: User, password: str) -> None:
    check_new_password(password)
    with ws.connect() as conn:
        conn.execute(
            "UPDATE users SET password_hash = ?, must_change = 0 WHERE id = ?",
            (hash_password(password), user.id),
        )


def authenticate(ws: Workspace, name: str, password: str) -> User | None:
    """The account, if the name and password match an enabled one (the KDF runs either way)."""
    with ws.connect() as conn:
        row = conn.execute(
            "SELECT id, name, role, must_change, password_hash FROM users WHERE name = ? AND disabled = 0",
            (unicodedata.normalize("NFC", name.strip()),),
        ).fetchone()
    ok = verify_password(row[4] if row else _DUMMY_HASH, password)
    return User(row[0], row[1], row[2], bool(row[3])) if row and ok else None


# ------------------------------------------------------------------ sessions


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(ws: Workspace, user: User) -> str:
    """A new session for the account; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    with ws.connect() as conn:
        conn.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
        conn.execute(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (_digest(token), user.id, utc_now(), time.time() + SESSION_SECONDS),
        )
    return token


def session_user(ws: Workspace, token: str) -> User | None:
    if not token or len(token) > 100:
        return None
    with ws.connect() as conn:
        row = conn.execute(
            "SELECT u.id, u.name, u.role, u.must_change FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.id = ? AND s.expires_at > ? AND u.disabled = 0",
            (_digest(token), time.time()),
        ).fetchone()
    return User(row[0], row[1], row[2], bool(row[3])) if row else None


def end_session(ws: Workspace, token: str) -> None:
    with ws.connect() as conn:
        conn.execute("DELETE FROM sessions WHERE id = ?", (_digest(token),))
