"""The endpoint file and the CLI's choice between a dashboard's API and the store file, without a dashboard:
a stale endpoint file (dead process, nothing answering, another store) is ignored and the CLI opens the
file as before; and the server side's command runner (paths, per-thread output)."""

from __future__ import annotations

import http.server
import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from analytics.api import commands, endpoint
from analytics.store import Store
from tests.builders import add_events

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        add_events(store, [{"item_id": "i1", "annotator_id": a, "label": label, "labeled_at": day}
                           for a, label, day in (("a1", "cat", "2026-01-01"), ("a2", "dog", "2026-01-02"))])
    return path


def cli(*argv, cwd):
    env = {k: v for k, v in os.environ.items() if k != "LABELWATCH_ROLES"}
    return subprocess.run([sys.executable, "-m", "analytics", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False, env={**env, "PYTHONPATH": str(ROOT)})


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Health(http.server.BaseHTTPRequestHandler):
    store = ""

    def do_GET(self):  # noqa: N802 (the standard library's name)
        body = json.dumps({"status": "ok", "store": self.store}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def other_dashboard(tmp_path):
    """A server on loopback that answers /api/health for another store file."""
    other = tmp_path / "other.duckdb"
    Store(other).close()
    handler = type("Other", (_Health,), {"store": str(other)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_endpoint_file_is_private_and_only_its_writer_removes_it(db):
    path = endpoint.write(db, "http://127.0.0.1:8501/", "secret-token")
    assert path == db.with_name("store.duckdb.endpoint.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    found = endpoint.read(db)
    assert found == endpoint.Endpoint("http://127.0.0.1:8501", os.getpid(), str(db.resolve()), "secret-token")
    endpoint.remove(db, "another-token")
    assert path.exists()
    endpoint.remove(db, "secret-token")
    assert not path.exists()


@pytest.mark.parametrize("stale", ["dead process", "nothing answers", "another store", "garbage"])
def test_with_a_stale_endpoint_file_the_cli_opens_the_store_itself(db, tmp_path, other_dashboard, stale):
    if stale == "garbage":
        endpoint.endpoint_file(db).write_text("{not json")
    else:
        url = other_dashboard if stale == "another store" else f"http://127.0.0.1:{_free_port()}"
        pid = _dead_pid() if stale == "dead process" else os.getpid()
        endpoint.write(db, url, "token", pid=pid)
    assert endpoint.live(db, timeout=2) is None
    direct = cli("--db", str(db), "batches", cwd=tmp_path)
    assert direct.returncode == 0, direct.stderr
    assert "2 rows" in direct.stdout
    (tmp_path / "more.csv").write_text("item_id,annotator_id,label,labeled_at\ni3,a1,cat,2026-01-04\n")
    ingested = cli("--db", str(db), "ingest", "more.csv", cwd=tmp_path)
    assert ingested.returncode == 0, ingested.stderr
    assert ingested.stdout.startswith("more.csv (events): 1 rows read, 1 accepted")


def test_a_live_endpoint_is_one_that_answers_for_this_store(db, other_dashboard):
    handler = type("Same", (_Health,), {"store": str(db)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        endpoint.write(db, url, "token")
        assert endpoint.live(db) == endpoint.Endpoint(url, os.getpid(), str(db.resolve()), "token")
    finally:
        server.shutdown()


def test_a_command_runs_on_the_servers_copies_and_reads_as_the_callers(db, tmp_path):
    upload = tmp_path / "work" / "upload0" / "events.csv"
    upload.parent.mkdir(parents=True)
    upload.write_text("item_id,annotator_id,label,labeled_at\ni2,a1,cat,2026-01-03\ni2,a2,,2026-01-03\n")
    invocation = commands.parse(["ingest", "data/events.csv", "gone.csv"], {"data/events.csv": upload},
                                tmp_path / "work")
    assert invocation.args.files[0] == upload
    with Store(db) as store:
        result = commands.execute(store, invocation, None)
        assert store.scalar("SELECT source FROM ingest_batches WHERE source LIKE '%events.csv'") == \
            "data/events.csv"
    assert result.exit_status == 1  # gone.csv
    assert result.stdout.startswith("data/events.csv (events): 2 rows read, 1 accepted, 1 rejected")
    assert "gone.csv" in result.stderr and str(tmp_path) not in result.stdout + result.stderr


def test_a_labelbox_export_is_imported_through_the_api_with_its_kind_and_question(db, tmp_path):
    export = ROOT / "tests" / "data" / "labelbox" / "export.ndjson"
    upload = tmp_path / "work" / "upload0" / "export.ndjson"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(export.read_bytes())
    argv = ["ingest", "exports/export.ndjson", "--kind", "labelbox", "--question", "Sentiment"]
    invocation = commands.parse(argv, {"exports/export.ndjson": upload}, tmp_path / "work")
    args = invocation.args
    assert (args.kind, args.question, args.dataset) == ("labelbox", "Sentiment", None)
    with Store(db) as store:
        result = commands.execute(store, invocation, None)
        source = store.scalar("SELECT source FROM ingest_batches WHERE kind = 'labelbox'")
        assert source == "exports/export.ndjson"
        assert store.scalar("SELECT count(*) FROM label_events WHERE annotator_id LIKE '%@example.com'") == 7
    assert result.exit_status == 0, result.stderr
    assert result.stdout.startswith("exports/export.ndjson (labelbox): 14 rows read, 7 accepted, 7 rejected")
    assert str(tmp_path) not in result.stdout + result.stderr


def test_commands_that_run_at_once_keep_their_output_apart(db):
    outputs = {}

    def work(name):
        out, err = [], []

        class Sink:
            def __init__(self, into):
                self.into = into

            def write(self, text):
                self.into.append(text)

            def flush(self):
                pass

        with commands.capture(Sink(out), Sink(err)):
            for i in range(200):
                print(f"{name} {i}")
                print(f"{name} err {i}", file=sys.stderr)
        outputs[name] = ("".join(out), "".join(err))

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, (out, err) in outputs.items():
        assert out == "".join(f"{name} {i}\n" for i in range(200))
        assert err == "".join(f"{name} err {i}\n" for i in range(200))


@pytest.mark.parametrize("argv,role", [
    (["summary", "--json"], "viewer"), (["ingest", "f.csv"], "reviewer"),
    (["ingest", "f.csv", "--dry-run"], "viewer"),
    (["act", "i1", "confirm", "--reason", "x"], "reviewer"), (["versions", "create"], "admin"),
    (["versions", "diff", "v1", "v2"], "viewer"), (["policy", "run", "p.toml"], "admin"),
    (["policy", "run", "p.toml", "--dry-run"], "viewer"), (["retract", "b", "--reason", "x"], "admin"),
    (["campaign", "resolve", "c"], "admin"), (["audit"], "viewer"), (["demo"], None),
])
def test_each_command_needs_the_role_its_writes_need(argv, role, tmp_path):
    found = commands.required_role(commands.parse(argv, {}, tmp_path).args)
    assert (str(found) if found is not None else None) == role
