"""The HTTP API beside the dashboard, against a real ``streamlit run app.py`` on its own demo store: tokens,
roles, the routes' answers, the body limit, and the CLI that finds the dashboard by itself.

The server reads its API tokens from a secrets file of the test (``--secrets.files``) and its roles from a
roles file (``LABELWATCH_ROLES``): lead is an admin, ana a reviewer, guest a viewer.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import stat
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
import uuid

import pytest

from analytics.api import endpoint
from analytics.store.migrations import LATEST_VERSION
from tests.e2e.conftest import ROOT, demo_store, streamlit_server

pytestmark = pytest.mark.e2e

PEOPLE = {"lead@example.org": "admin", "ana@example.org": "reviewer", "guest@example.org": "viewer"}
ROLES = """[roles]
admin = ["lead@example.org"]
reviewer = ["ana@example.org"]
viewer = ["guest@example.org"]
default = "viewer"
"""
CSV_HEADER = "item_id,annotator_id,label,labeled_at\n"


def same(a, b) -> bool:
    """Equal JSON values, floats to 1e-12 relative: DuckDB sums doubles in parallel, in no fixed order, so
    two runs of one query can differ in the last bits."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12)
    return a == b and type(a) is type(b)


def cli(*argv, cwd=ROOT, **env):
    """``python -m analytics ARGV`` in a subprocess; the environment of this process, plus ``env``."""
    environ = {k: v for k, v in os.environ.items() if k not in ("LABELWATCH_ROLES", "LABELWATCH_USER")}
    return subprocess.run([sys.executable, "-m", "analytics", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False, env={**environ, "PYTHONPATH": str(ROOT), **env})


def call(method, url, *, token=None, body=None, content_type=None):
    """``(status, headers, parsed JSON or text)`` of one request; error statuses are answers too."""
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=300) as response:
            status, found, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, found, raw = error.code, error.headers, error.read()
    if "json" in found.get("content-type", ""):
        return status, found, json.loads(raw)
    return status, found, raw.decode(errors="replace")


def run_cli(url, token, argv):
    """``POST /api/cli`` with ``argv`` (no files): ``(status, answer)``."""
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="argv"\r\n\r\n{json.dumps(argv)}\r\n'
            f"--{boundary}--\r\n").encode()
    status, _, answer = call("POST", f"{url}/api/cli", token=token, body=body,
                             content_type=f"multipart/form-data; boundary={boundary}")
    return status, answer


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The server, its store, each person's token and ``summary --json`` read from the file before the
    server started."""
    folder = tmp_path_factory.mktemp("api")
    db = demo_store(folder / "demo.duckdb", history=False)
    expected = cli("--db", str(db), "summary", "--json")
    assert expected.returncode == 0, expected.stderr
    tokens = {name: secrets.token_urlsafe(24) for name in PEOPLE}
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text("[api.tokens]\n" + "".join(f'"{n}" = "{t}"\n' for n, t in tokens.items()))
    roles = folder / "roles.toml"
    roles.write_text(ROLES)
    flags = ("--secrets.files", str(secrets_file), "--server.maxUploadSize", "1")
    with streamlit_server(db, folder, flags=flags, LABELWATCH_ROLES=str(roles)) as url:
        yield {"url": url, "db": db, "tokens": tokens, "roles": roles, "folder": folder,
               "summary": json.loads(expected.stdout)}


def _events(api):
    status, _, found = call("GET", f"{api['url']}/api/summary", token=api["tokens"]["lead@example.org"])
    assert status == 200
    return found["store"]["events"]


def _actions(api):
    lead = api["tokens"]["lead@example.org"]
    status, answer = run_cli(api["url"], lead, ["audit", "--json", "--limit", "0"])
    assert status == 200 and answer["exit_status"] == 0, answer
    return json.loads(answer["stdout"])["actions"]


def test_summary_through_the_api_is_summary_json_from_the_file(api):
    # first in this module: later tests write
    status, found, answer = call("GET", f"{api['url']}/api/summary", token=api["tokens"]["guest@example.org"])
    assert status == 200 and found["content-type"].startswith("application/json")
    assert same(answer, api["summary"])
    assert not same(answer, {**answer, "store": {}})  # the comparison can fail


def test_health_needs_no_token_and_names_the_store(api):
    status, found, answer = call("GET", f"{api['url']}/api/health")
    assert status == 200 and found["content-type"].startswith("application/json")
    with (ROOT / "pyproject.toml").open("rb") as fh:
        version = tomllib.load(fh)["project"]["version"]
    assert answer["status"] == "ok"
    assert answer["store"] == str(api["db"].resolve())
    assert answer["schema_version"] == LATEST_VERSION
    assert answer["app_version"] == version


@pytest.mark.parametrize("method,route", [
    ("GET", "/api/summary"), ("GET", "/api/check"), ("POST", "/api/ingest?kind=events&name=e.csv"),
    ("POST", "/api/cli"),
])
@pytest.mark.parametrize("token", [None, "wrong", ""])
def test_every_call_but_health_needs_a_known_token(api, method, route, token):
    body = (CSV_HEADER + "z-1,a-1,3,2026-06-01T00:00:00\n").encode() if method == "POST" else None
    status, found, answer = call(method, api["url"] + route, token=token, body=body)
    assert status == 401
    assert found["www-authenticate"] == "Bearer"
    assert "token" in answer["error"]


def test_a_viewers_token_reads_but_cannot_write_and_nothing_is_written(api):
    guest = api["tokens"]["guest@example.org"]
    events, actions = _events(api), _actions(api)
    status, found, answer = call("GET", f"{api['url']}/api/check", token=guest)
    assert status == 200 and found["x-labelwatch-exit-status"] in ("0", "1")
    assert int(found["x-labelwatch-exit-status"]) == answer["exit_status"]

    csv = (CSV_HEADER + "viewer-item,a-1,3,2026-06-01T00:00:00\n").encode()
    status, _, answer = call("POST", f"{api['url']}/api/ingest?kind=events&name=viewer.csv", token=guest,
                             body=csv)
    assert status == 403 and "needs the reviewer role" in answer["error"]
    status, answer = run_cli(api["url"], guest, ["act", "digits-0001", "confirm", "--reason", "fine"])
    assert status == 403 and "guest@example.org (viewer) may not" in answer["error"]
    assert _events(api) == events
    assert _actions(api) == actions


def test_a_reviewers_token_acts_as_the_reviewer(api):
    ana = api["tokens"]["ana@example.org"]
    status, answer = run_cli(api["url"], ana, ["act", "digits-0002", "relabel", "--label", "7", "--reason",
                                               "a seven", "--json"])
    assert status == 200 and answer["exit_status"] == 0, answer
    written = json.loads(answer["stdout"])["actions"]
    assert [(a["item_id"], a["to_label"], a["actor"], a["actor_role"]) for a in written] == [
        ("digits-0002", "7", "ana@example.org", "reviewer")]
    assert written[0]["action_id"] in {a["action_id"] for a in _actions(api)}


def test_a_token_acts_only_as_its_person_and_within_its_role(api):
    ana = api["tokens"]["ana@example.org"]
    status, answer = run_cli(api["url"], ana, ["act", "digits-0003", "confirm", "--reason", "ok", "--actor",
                                               "lead@example.org"])
    assert status == 403 and "may not act as lead@example.org" in answer["error"]
    status, answer = run_cli(api["url"], ana, ["versions", "create", "--note", "mine"])
    assert status == 403 and "needs the admin role" in answer["error"]
    status, answer = run_cli(api["url"], api["tokens"]["lead@example.org"], ["versions", "list", "--json"])
    assert json.loads(answer["stdout"])["versions"] == []


def test_ingest_answers_the_validation_report_with_its_rejects(api):
    before = _events(api)
    assert _events(api) == before  # the same state: the shared summary
    csv = (CSV_HEADER + "api-item-1,a-1,3,2026-06-01T00:00:00\napi-item-1,a-2,bogus,2026-06-01T00:00:00\n")
    status, found, answer = call("POST", f"{api['url']}/api/ingest?kind=events&name=api.csv&dataset=api",
                                 token=api["tokens"]["ana@example.org"], body=csv.encode())
    assert status == 200 and answer["exit_status"] == 0 and found["x-labelwatch-exit-status"] == "0"
    (report,) = answer["files"]
    assert (report["source"], report["rows_read"], report["rows_accepted"], report["rows_rejected"]) == (
        "api.csv", 2, 1, 1)
    assert report["rejected_by_reason"] == {"unknown label": 1}
    assert [(r["row_number"], r["column_name"]) for r in report["rejects"]] == [(3, "label")]
    assert report["batch_id"] and report["summary"].endswith(f"Imported as batch {report['batch_id']}.")
    assert _events(api) == before + 1  # the summary follows the write at once
    # a file that cannot be read is the CLI's exit status 1, answered 422
    status, _, answer = call("POST", f"{api['url']}/api/ingest?kind=events&name=empty.csv",
                             token=api["tokens"]["ana@example.org"], body=b"")
    assert status == 422 and answer["exit_status"] == 1 and answer["files"][0]["error"]


def test_ingest_reads_a_labelbox_export_with_its_question(api):
    export = (ROOT / "tests" / "data" / "labelbox" / "export.ndjson").read_bytes()
    url = f"{api['url']}/api/ingest?kind=labelbox&question=Language&name=exports/lb.ndjson&dry_run=true"
    status, _, answer = call("POST", url, token=api["tokens"]["ana@example.org"], body=export)
    assert status == 200 and answer["exit_status"] == 0 and answer["dry_run"] is True
    (report,) = answer["files"]
    assert (report["source"], report["kind"], report["rows_read"], report["rows_accepted"]) == (
        "exports/lb.ndjson", "labelbox", 14, 0)
    # The demo store declares the digits as its vocabulary: the two answers, 'en' and 'fr', are not in it.
    assert report["rejected_by_reason"] == {"no answer": 8, "unknown label": 2, "bad JSON": 1,
                                            "bad data row": 1, "no labels": 1, "skipped label": 1}
    assert report["batch_id"] is None


def test_an_uploads_name_is_a_file_name_never_an_option(api):
    events = _events(api)
    status, _, answer = call("POST", f"{api['url']}/api/ingest?kind=events&name=--dry-run",
                             token=api["tokens"]["ana@example.org"], body=b"item_id\n")
    assert status == 422 and answer["files"][0]["source"] == "--dry-run" and answer["dry_run"] is False
    assert _events(api) == events


def test_a_body_over_the_upload_limit_is_refused_and_nothing_is_written(api):
    events = _events(api)
    rows = "".join(f"big-{i},a-1,3,2026-06-01T00:00:00\n" for i in range(40_000))  # ~1.3 MB > 1 MB
    status, _, answer = call("POST", f"{api['url']}/api/ingest?kind=events&name=big.csv",
                             token=api["tokens"]["ana@example.org"], body=(CSV_HEADER + rows).encode())
    assert status == 413 and "maxUploadSize" in answer["error"]
    assert _events(api) == events


def test_the_cli_finds_the_dashboard_and_goes_through_its_api(api, tmp_path):
    db, url = api["db"], api["url"]
    found = endpoint.read(db)
    assert found is not None and found.url == url and found.store == str(db.resolve())
    assert stat.S_IMODE(endpoint.endpoint_file(db).stat().st_mode) == 0o600
    # the dashboard holds the file: only the API can answer these
    summary = cli("--db", str(db), "summary", "--json", cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    _, _, through_api = call("GET", f"{url}/api/summary", token=api["tokens"]["guest@example.org"])
    assert same(json.loads(summary.stdout), through_api)
    check = cli("--db", str(db), "check", cwd=tmp_path)
    _, found_check, _ = call("GET", f"{url}/api/check", token=api["tokens"]["guest@example.org"])
    assert str(check.returncode) == found_check["x-labelwatch-exit-status"]

    # the caller's identity and roles file, as on the file: a viewer is refused by the engine (exit 1)
    refused = cli("--db", str(db), "act", "digits-0004", "confirm", "--reason", "ok", cwd=tmp_path,
                  LABELWATCH_ROLES=str(api["roles"]), LABELWATCH_USER="guest@example.org")
    assert refused.returncode == 1 and "guest@example.org (viewer) may not act on items" in refused.stderr

    # a file the command reads is uploaded, a file it writes comes back here
    (tmp_path / "items.txt").write_text("digits-0010\ndigits-0011\n")
    created = cli("--db", str(db), "versions", "create", "--note", "from the cli", cwd=tmp_path,
                  LABELWATCH_USER="lead@example.org")
    assert created.returncode == 0 and created.stdout.startswith("Created v1"), created.stderr
    exported = cli("--db", str(db), "versions", "export", "v1", "--out", "v1.csv", cwd=tmp_path)
    lines = (tmp_path / "v1.csv").read_text().splitlines()
    assert lines[0].startswith("item_id,label")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == f"Wrote {len(lines) - 1:,} items of v1 to v1.csv (CSV).\n"  # as on the file
    missing = cli("--db", str(db), "ingest", "nowhere.csv", cwd=tmp_path)
    assert missing.returncode == 1 and "nowhere.csv" in missing.stderr and str(tmp_path) not in missing.stderr
