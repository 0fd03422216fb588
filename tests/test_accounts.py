"""Team accounts, against the running review server (uvicorn on a loopback port).

What a team relies on: everyone signs in; the reviewer on a decision is the signed-in account, never a
form field; only an adjudicator records a consensus; wrong passwords are slowed down and then refused;
and five reviewers deciding at once on PostgreSQL lose nothing and are each credited with their own.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from click.testing import CliRunner
from review_helpers import live_server, make_workspace, workspace_args

from evaluator.cli import main
from evaluator.review.app import create_app
from evaluator.review.login import FAILURE_DELAY, MAX_FAILURES
from evaluator.review.security import CSRF_COOKIE
from evaluator.types import HALLMARK_IDS
from evaluator.workspace import accounts
from evaluator.workspace import decisions as dec
from evaluator.workspace.audit import verify

PASSWORD = "correct horse battery"


def member(ws, name: str, role: str = "reviewer") -> None:
    user, _ = accounts.add_user(ws, name, role)
    accounts.set_password(ws, user, PASSWORD)


@contextmanager
def client_for(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as client:
        client.get("/login")  # the CSRF cookie
        yield client


def token(client: httpx.Client) -> str:
    return client.cookies[CSRF_COOKIE]


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/login", data={"csrf_token": token(client), "name": name, "password": password})


def decide(client: httpx.Client, sha: str, **form) -> httpx.Response:
    data = {"csrf_token": token(client), "hallmark_id": "1", "action": "accept", "based_on": "", **form}
    return client.post(f"/documents/{sha}/decisions", data=data)


@pytest.fixture
def team(tmp_path, database):
    ws, docs = make_workspace(tmp_path, documents=2, database=database)
    member(ws, "Ana")
    member(ws, "Ben")
    member(ws, "Chris", "adjudicator")
    with live_server(create_app(ws)) as base:
        yield ws, docs, base


def test_everyone_signs_in_and_logout_ends_the_session(team):
    ws, docs, base = team
    with client_for(base) as client:
        assert client.get("/").headers["location"] == "/login"
        assert decide(client, docs[0].document.sha256, reviewer="Ana").status_code == 403
        r = sign_in(client, "Ana")
        assert r.status_code == 303 and r.headers["location"] == "/"
        page = client.get("/")
        assert page.status_code == 200 and 'Signed in as <b class="account">Ana</b>' in page.text
        assert 'id="reviewer-name"' not in page.text  # no name to type: the account is the reviewer
        assert client.post("/logout", data={"csrf_token": token(client)}).headers["location"] == "/login"
        assert client.get("/").headers["location"] == "/login"
    assert dec.decisions_for(ws, docs[0].document.sha256) == []


def test_a_one_time_password_must_be_replaced_at_first_sign_in(team):
    ws, _, base = team
    _, once = accounts.add_user(ws, "Dee", "reviewer")
    with client_for(base) as client:
        assert sign_in(client, "Dee", once).headers["location"] == "/password"
        assert client.get("/").headers["location"] == "/password"
        short = client.post(
            "/password", data={"csrf_token": token(client), "password": "short", "again": "short"}
        )
        assert short.status_code == 400 and "at least 12" in short.text
        new = "a much longer passphrase"
        r = client.post("/password", data={"csrf_token": token(client), "password": new, "again": new})
        assert r.headers["location"] == "/" and client.get("/").status_code == 200
    with client_for(base) as again:
        assert sign_in(again, "Dee", once).status_code == 401  # used once, gone
        assert sign_in(again, "Dee", new).headers["location"] == "/"


def test_a_reviewer_cannot_decide_as_someone_else(team):
    ws, docs, base = team
    sha = docs[0].document.sha256
    with client_for(base) as client:
        sign_in(client, "Ana")
        assert decide(client, sha, reviewer="Ben").status_code == 303
        evidence = {"csrf_token": token(client), "reviewer": "Ben", "descriptor_id": "1.A.1", "passage": "0"}
        assert (
            client.post(f"/documents/{sha}/evidence", data={**evidence, "verdict": "confirm"}).status_code
            == 303
        )
    [d] = dec.decisions_for(ws, sha)
    assert d.reviewer == "Ana"
    [[verdict]] = dec.evidence_verdicts(ws, sha).values()
    assert verdict["reviewer"] == "Ana"


def test_only_an_adjudicator_records_a_consensus(team):
    ws, docs, base = team
    sha = docs[0].document.sha256
    form = {"hallmark_id": "2", "level": "none", "reason": "health only", "reviewer": "Chris"}
    with client_for(base) as ana:
        sign_in(ana, "Ana")
        refused = ana.post(f"/documents/{sha}/consensus", data={**form, "csrf_token": token(ana)})
        assert refused.status_code == 403 and "Only an adjudicator" in refused.text
    assert dec.consensus_for(ws, sha) == {}
    with client_for(base) as chris:
        sign_in(chris, "Chris")
        assert (
            chris.post(f"/documents/{sha}/consensus", data={**form, "csrf_token": token(chris)}).status_code
            == 303
        )
    assert dec.consensus_for(ws, sha)["2"]["recorded_by"] == "Chris"


def test_wrong_passwords_are_slowed_down_then_refused(team):
    _, _, base = team
    with client_for(base) as client:
        started = time.monotonic()
        for _ in range(MAX_FAILURES):
            r = sign_in(client, "Ana", "not the password")
            assert r.status_code == 401 and "Wrong name or password" in r.text
        assert time.monotonic() - started >= MAX_FAILURES * FAILURE_DELAY
        blocked = sign_in(client, "Ana")  # even the right password, for a while
        assert blocked.status_code == 429 and "wait a minute" in blocked.text
        assert client.get("/").headers["location"] == "/login"


def test_users_command(tmp_path, database):
    ws, _ = make_workspace(tmp_path, database=database)
    runner = CliRunner()
    added = runner.invoke(main, ["users", "add", "Ana Silva", "--role", "adjudicator", *workspace_args(ws)])
    assert added.exit_code == 0 and "One-time password: " in added.output
    once = added.output.split("One-time password: ")[1].split()[0]
    assert accounts.authenticate(ws, "Ana Silva", once) is not None
    again = runner.invoke(main, ["users", "add", "Ana Silva", "--role", "reviewer", *workspace_args(ws)])
    assert again.exit_code == 1 and "already an account" in again.output and "Traceback" not in again.output
    bad = runner.invoke(main, ["users", "add", "Ben", "--role", "boss", *workspace_args(ws)])
    assert bad.exit_code == 2 and "reviewer" in bad.output
    assert (
        "Ana Silva\tadjudicator\tone-time password"
        in runner.invoke(main, ["users", "list", *workspace_args(ws)]).output
    )
    assert runner.invoke(main, ["users", "disable", "Ana Silva", *workspace_args(ws)]).exit_code == 0
    assert accounts.authenticate(ws, "Ana Silva", once) is None
    missing = runner.invoke(main, ["users", "reset", "Nobody", *workspace_args(ws)])
    assert missing.exit_code == 1 and "No account 'Nobody'" in missing.output


def test_five_reviewers_deciding_at_once_on_postgresql(postgres, tmp_path):
    """5 signed-in reviewers x 50 decisions, all at once through HTTP: 250 stored, each attributed to
    the account that made it, every chain intact."""
    ws, docs = make_workspace(tmp_path, documents=2, database=postgres.new_database())
    names = [f"reviewer-{i}" for i in range(5)]
    for name in names:
        member(ws, name)
    items = [(d.document.sha256, h) for d in docs for h in HALLMARK_IDS]
    start = threading.Barrier(len(names))
    statuses: dict[str, list[int]] = {}

    def work(name: str, base: str) -> None:
        with client_for(base) as client:
            sign_in(client, name)
            start.wait()
            statuses[name] = [
                decide(
                    client,
                    items[i % len(items)][0],
                    hallmark_id=items[i % len(items)][1],
                    action="override",
                    level="optimising",
                    reason=f"{name} #{i}",
                    reviewer="someone-else",
                ).status_code
                for i in range(50)
            ]

    with live_server(create_app(ws)) as base:
        threads = [threading.Thread(target=work, args=(name, base)) for name in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert {name: Counter(codes) for name, codes in statuses.items()} == {
        n: Counter({303: 50}) for n in names
    }
    stored = [d for sha in {s for s, _ in items} for d in dec.decisions_for(ws, sha)]
    assert len(stored) == 250 and len({d.id for d in stored}) == 250
    assert Counter(d.reviewer for d in stored) == {name: 50 for name in names}
    assert all(d.reason.startswith(d.reviewer + " #") for d in stored)  # each credited to its author
    report = verify(ws)
    assert report.ok and report.counts["decisions"] == 250
