"""A store that cannot be written (a read-only folder or file, a folder, a file in place of a folder, a full
disk) is an error in words that names the store's path, never a traceback: for the CLI (exit status 2) and
for the app (``LABELWATCH_DB`` pointing there: the page says it).

Permissions are real: the CLI and the app run in a child process that cannot bypass file permissions. Tests
often run as root, whose CAP_DAC_OVERRIDE ignores a folder's mode; ``_as_a_user`` drops it (and its two
siblings) from the child's capability bounding set before ``exec``, so the child honours ``chmod`` as any
user would (for a user who never had those capabilities the drop fails harmlessly).
``test_the_child_cannot_bypass_permissions`` proves it, so a check below cannot pass for the wrong reason.

A full disk is a file-size limit (``RLIMIT_FSIZE``) on the child: mounting a small tmpfs needs root's
mount rights, which CI does not have; the write fails with ``EFBIG`` as it would with ``ENOSPC``.
"""

from __future__ import annotations

import ctypes
import json
import os
import pathlib
import resource
import signal
import subprocess
import sys
import textwrap

import pytest

from analytics.store import Store

ROOT = pathlib.Path(__file__).resolve().parents[1]
EVENTS = "item_id,annotator_id,label,labeled_at\ni1,a1,cat,2024-01-01\ni2,a1,dog,2024-01-02\n"
_PR_CAPBSET_DROP = 24
#: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root write where the mode says no.
_FILE_CAPABILITIES = (1, 2, 3)
#: What the app says, as JSON: run the app (ui/frame.py), optionally import a file through the Import page.
APP = textwrap.dedent(
    """
    import json, pathlib, sys
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("ui/frame.py", default_timeout=180).run()
    if len(sys.argv) > 1 and not at.error:
        upload = pathlib.Path(sys.argv[1])
        at.switch_page("../pages/data/import_data.py").run()
        at.file_uploader(key="import.upload").upload(upload.name, upload.read_bytes(), "text/csv").run()
        at.button[0].click().run()
    print(json.dumps({"errors": [e.value for e in at.error], "exceptions": [e.value for e in at.exception],
                      "success": [s.value for s in at.success]}))
    """
)


def _as_a_user(file_size: int | None = None):
    """A ``preexec_fn``: the child honours file modes like any user (and, with ``file_size``, may not grow
    a file past that many bytes: a full disk)."""

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in _FILE_CAPABILITIES:
            libc.prctl(_PR_CAPBSET_DROP, ctypes.c_ulong(capability), ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0))
        if file_size is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return preexec


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELWATCH_")}
    return {**env, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", **extra}


def _cli(*args: str, file_size: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], capture_output=True, text=True,
                          cwd=ROOT, env=_env(), preexec_fn=_as_a_user(file_size), timeout=300)


def _app(db: pathlib.Path, upload: pathlib.Path | None = None, file_size: int | None = None) -> dict:
    args = [str(upload)] if upload else []
    result = subprocess.run([sys.executable, "-c", APP, *args], capture_output=True, text=True, cwd=ROOT,
                            env=_env(LABELWATCH_DB=str(db)), preexec_fn=_as_a_user(file_size), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _many_events(path: pathlib.Path, n: int) -> pathlib.Path:
    """``n`` valid events (about 25 bytes each): a store that holds them outgrows a small file-size limit."""
    path.write_text("item_id,annotator_id,label,labeled_at\n" + "".join(
        f"i{i},a{i % 40},{'cat' if i % 3 else 'dog'},2024-01-{1 + i % 28:02d}\n" for i in range(n)))
    return path


@pytest.fixture
def places(tmp_path):
    """A read-only folder, a store in a read-only folder, a read-only store file, and a file of events."""
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    more = tmp_path / "more.csv"
    more.write_text(EVENTS.replace("i1,", "i3,").replace("i2,", "i4,"))
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    locked = tmp_path / "locked"
    locked.mkdir()
    Store(locked / "store.duckdb").close()
    Store(tmp_path / "read-only-file.duckdb").close()
    (tmp_path / "read-only-file.duckdb").chmod(0o444)
    read_only.chmod(0o555)
    locked.chmod(0o555)
    yield {"events": events, "more": more, "folder": read_only, "in_locked": locked / "store.duckdb",
           "file": tmp_path / "read-only-file.duckdb"}
    read_only.chmod(0o755)
    locked.chmod(0o755)


def test_the_child_cannot_bypass_permissions(places):
    probe = places["folder"] / "probe"
    result = subprocess.run([sys.executable, "-c", f"open({str(probe)!r}, 'w')"], capture_output=True,
                            text=True, preexec_fn=_as_a_user())
    assert result.returncode != 0 and "Permission denied" in result.stderr
    assert not probe.exists()


def _refused(result: subprocess.CompletedProcess, path: pathlib.Path, *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and str(path) in result.stderr
    for word in words:
        assert word in result.stderr


@pytest.mark.parametrize("where", ["new store in a read-only folder", "new folder in a read-only folder",
                                   "a file where a folder should be", "a folder", "a read-only store file"])
def test_the_cli_names_a_store_it_cannot_open(places, where):
    path = {
        "new store in a read-only folder": places["folder"] / "store.duckdb",
        "new folder in a read-only folder": places["folder"] / "sub" / "store.duckdb",
        "a file where a folder should be": places["events"] / "store.duckdb",
        "a folder": places["folder"],
        "a read-only store file": places["file"],
    }[where]
    words = {
        "new store in a read-only folder": ["read-only", "--db PATH / LABELWATCH_DB"],
        "new folder in a read-only folder": ["Permission denied"],
        "a file where a folder should be": [f"{places['events']} is a file, not a folder"],
        "a folder": ["is a folder"],
        "a read-only store file": ["read-only"],
    }[where]
    _refused(_cli("--db", str(path), "ingest", str(places["events"])), path, *words)
    if where != "a file where a folder should be":
        _refused(_cli("--db", str(path), "summary"), path)
    assert not (places["folder"] / "store.duckdb").exists()


def test_the_cli_names_a_store_in_a_read_only_folder_and_writes_nothing(places):
    """The file is writable, its folder is not: DuckDB opens it, and the first write fails."""
    store = places["in_locked"]
    result = _cli("--db", str(store), "ingest", str(places["events"]))
    _refused(result, store, f"Cannot import {places['events']}: the store cannot be written",
             "nothing was imported", "writable")
    with Store(store, read_only=True) as opened:
        assert opened.scalar("SELECT count(*) FROM ingest_batches") == 0


def test_the_cli_names_the_store_on_a_full_disk(tmp_path):
    db = tmp_path / "s.duckdb"
    Store(db).close()
    events = _many_events(tmp_path / "many.csv", 60_000)
    _refused(_cli("--db", str(db), "ingest", str(events), file_size=1_500_000), db,
             f"Cannot import {events}: a file size limit was reached; nothing was imported",
             "Free some disk space")
    with Store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM label_events") == 0


@pytest.mark.parametrize("where", ["read-only folder", "file where a folder should be", "folder",
                                   "read-only store file"])
def test_the_app_says_in_words_that_it_cannot_open_the_store(places, where):
    path = {"read-only folder": places["folder"] / "store.duckdb",
            "file where a folder should be": places["events"] / "store.duckdb",
            "folder": places["folder"], "read-only store file": places["file"]}[where]
    said = _app(path)
    assert not said["exceptions"]
    (error,) = said["errors"]
    assert str(path) in error and error.startswith(("Cannot", str(path)))


def test_the_import_page_names_a_store_it_cannot_write(places):
    said = _app(places["in_locked"], upload=places["more"])
    assert not said["exceptions"] and not said["success"]
    (error,) = said["errors"]
    assert error.replace("\\", "").startswith("Cannot import more.csv: the store cannot be written")
    assert str(places["in_locked"]) in error.replace("\\", "").replace("\u2060", "")


def test_the_import_page_names_the_store_on_a_full_disk(tmp_path):
    db = tmp_path / "s.duckdb"
    Store(db).close()
    events = _many_events(tmp_path / "many.csv", 50_000)
    said = _app(db, upload=events, file_size=1_400_000)
    assert not said["exceptions"] and not said["success"]
    (error,) = said["errors"]
    text = error.replace("\\", "").replace("\u2060", "")
    assert text.startswith("Cannot import many.csv: a file size limit was reached; nothing was imported")
    assert str(db) in text
    with Store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM label_events") == 0
