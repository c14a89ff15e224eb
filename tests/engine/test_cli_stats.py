"""``python -m analytics stats --lake DIR``: the same statistics on either engine, no store, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analytics import agreement
from analytics.__main__ import main
from analytics.consensus.dawid_skene import DawidSkene
from analytics.engine import engines
from tests.engine.lake import write_lake

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lake(tmp_path_factory.mktemp("cli"), 20_000, seed=3)


def _stats_json(capsys, *args: str) -> dict:
    assert main(["stats", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow  # ~45 s: a Dawid–Skene fit of ~30 passes in Spark's local mode
def test_stats_gives_the_same_numbers_on_both_engines_and_in_memory(small_lake, spark, capsys):
    on_duck = _stats_json(capsys, "--lake", str(small_lake))
    on_spark = _stats_json(capsys, "--lake", str(small_lake), "--engine", "spark")
    assert (on_duck["engine"], on_spark["engine"]) == ("duckdb", "spark")

    events = pd.read_parquet(small_lake / "events").sort_values("event_id")
    assert on_duck["agreement"]["ratings"] == len(events)
    assert on_duck["agreement"]["fleiss_kappa"] == pytest.approx(agreement.fleiss_kappa(events), rel=1e-12)
    for name, value in on_duck["agreement"].items():
        assert on_spark["agreement"][name] == pytest.approx(value, rel=1e-9), name

    ds = DawidSkene(dtype="float64").fit(events)
    for result in (on_duck, on_spark):
        assert result["dawid_skene"]["n_iter"] == ds.n_iter_
        assert result["dawid_skene"]["priors"] == pytest.approx(ds.priors_.to_dict(), rel=1e-8)
    for part in ("annotators", "slices"):
        pd.testing.assert_frame_equal(pd.DataFrame(on_spark[part]), pd.DataFrame(on_duck[part]),
                                      check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(pd.DataFrame(on_spark["drift"]["windows"]),
                                  pd.DataFrame(on_duck["drift"]["windows"]), check_exact=False, rtol=1e-9)
    assert any(s["slice"] == "source = fax" and s["significant"] for s in on_duck["slices"])


def test_stats_prints_a_summary_without_a_store(small_lake, tmp_path):
    missing_store = tmp_path / "no-store.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "analytics", "--db", str(missing_store), "stats", "--lake", str(small_lake)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "aggregated by duckdb" in result.stdout and "Fleiss' kappa" in result.stdout
    assert "source = fax" in result.stdout and "Dawid–Skene:" in result.stdout
    assert not missing_store.exists()


def test_stats_says_pyspark_is_missing(small_lake, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    assert main(["stats", "--lake", str(small_lake), "--engine", "spark"]) == 1
    err = capsys.readouterr().err
    assert "needs the pyspark package" in err and "requirements-spark.txt" in err


def test_stats_says_java_is_missing(small_lake, monkeypatch, capsys):
    monkeypatch.setattr(engines.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert main(["stats", "--lake", str(small_lake), "--engine", "spark"]) == 1
    err = capsys.readouterr().err
    assert "needs a Java runtime" in err and "openjdk-17-jre-headless" in err


@pytest.mark.parametrize("args, message", [
    (["--lake", "/nonexistent/lake"], "no lake folder at /nonexistent/lake"),
    (["--lake", ".", "--spark-master", "local[1]"], "--spark-master URL takes --engine spark"),
])
def test_stats_refuses_a_bad_request(args, message, capsys):
    assert main(["stats", *args]) == 1
    assert message in capsys.readouterr().err
