"""``ui.warm_up`` against real ``streamlit run`` servers: a script that runs, one that raises, none at all."""

from __future__ import annotations

import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ui import warm_up


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve(tmp_path):
    """Start ``streamlit run`` on a script holding ``source``; yields its URL; stops it afterwards."""
    processes = []

    def start(source: str) -> str:
        script = tmp_path / f"app{len(processes)}.py"
        script.write_text(source, encoding="utf-8")
        port = _free_port()
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false", "--server.scriptHealthCheckEnabled", "true"],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        url = f"http://127.0.0.1:{port}"
        assert warm_up.wait_healthy(url, timeout=180, alive=lambda: processes[-1].poll() is None)
        return url

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_run_once_runs_the_script_in_the_server(serve, tmp_path):
    marker = tmp_path / "ran.txt"
    url = serve(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n")
    assert warm_up.run_once(url) == (True, "ok")
    assert marker.read_text() == "ran"


def test_run_once_reports_a_script_that_raises(serve):
    url = serve("import streamlit as st\nst.title('x')\n1 / 0\n")
    assert warm_up.run_once(url) == (False, "error")


def test_nothing_listening_is_neither_healthy_nor_warmed():
    url = f"http://127.0.0.1:{_free_port()}"
    assert warm_up.wait_healthy(url, timeout=1) is False
    ok, answer = warm_up.run_once(url, timeout=5)
    assert ok is False and "refused" in answer.lower()


def test_the_app_config_turns_the_script_check_on():
    # make dashboard and the browser tests warm the server through it; without it the check answers 404
    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["scriptHealthCheckEnabled"] is True
