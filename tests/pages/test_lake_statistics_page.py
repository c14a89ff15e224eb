"""The Data page's whole-lake statistics (ui/lake_statistics.py) through AppTest, on a real lake and store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.store import Store
from analytics.synthetic import scale

ROOT = Path(__file__).resolve().parents[2]
DATA_PAGE = str(ROOT / "pages" / "data" / "data.py")


@pytest.fixture(scope="module")
def lake_store(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("lake-page")
    with Store(base / "store.duckdb") as store:
        scale.build_scale_lake_store(store, base / "lake", 20_000, seed=5, chunk_size=10_000)
    return base / "store.duckdb", base / "lake"


def _page(monkeypatch, db: Path, **env: str) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(db))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return AppTest.from_file(DATA_PAGE, default_timeout=600)


def _expected(lake: Path, engine: str) -> dict:
    command = [sys.executable, "-m", "analytics", "stats", "--lake", str(lake), "--engine", engine, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout)


def _shown(at: AppTest) -> dict[str, str]:
    """The panel's metrics (the store status above it shows its own: size and schema version)."""
    return {m.label: m.value for m in at.metric if m.label not in ("Size on disk", "Schema version")}


def test_the_panel_computes_every_event_when_asked_and_matches_the_cli(monkeypatch, lake_store):
    db, lake = lake_store
    at = _page(monkeypatch, db).run()
    assert not at.exception
    assert _shown(at) == {}  # nothing is computed before the button
    at.button(key="lake_stats.compute").click().run()
    assert not at.exception, [e.value for e in at.exception]
    expected = _expected(lake, "duckdb")
    agreement = expected["agreement"]
    assert _shown(at) == {
        "Percent agreement": f"{agreement['percent_agreement']:.3f}",
        "Krippendorff's alpha": f"{agreement['krippendorff_alpha']:.3f}",
        "Fleiss' kappa": f"{agreement['fleiss_kappa']:.3f}",
        "Gwet's AC1": f"{agreement['gwet_ac1']:.3f}",
    }
    flagged = [a for a in expected["annotators"] if a["flags"]]
    assert any(f"{len(flagged):,} flagged" in m.value for m in at.markdown)
    noisy = [s for s in expected["slices"] if s["significant"]]
    assert noisy and any(f"{len(noisy):,} noisier than the rest" in m.value for m in at.markdown)
    shown_slices = next(d.value for d in at.dataframe if "slice" in d.value.columns)
    assert shown_slices["slice"].tolist() == [s["slice"] for s in noisy]
    # the result is kept: a rerun shows it again without the button
    at.run()
    assert _shown(at)["Percent agreement"] == f"{agreement['percent_agreement']:.3f}"


def test_an_unknown_engine_is_named_and_a_store_without_a_lake_has_no_panel(monkeypatch, lake_store,
                                                                              demo_store_path):
    db, _ = lake_store
    at = _page(monkeypatch, db, LABELWATCH_ENGINE="hadoop").run()
    assert [e.value for e in at.error] == [
        "LABELWATCH_ENGINE (or engine in the secrets) is 'hadoop'; use one of duckdb, spark"]
    at = _page(monkeypatch, demo_store_path).run()
    assert not at.exception
    assert "Whole-lake statistics" not in [s.value for s in at.subheader]


@pytest.mark.slow
def test_the_panel_on_spark_shows_the_same_numbers(monkeypatch, lake_store):
    db, lake = lake_store
    at = _page(monkeypatch, db, LABELWATCH_ENGINE="spark").run()
    at.button(key="lake_stats.compute").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("aggregated on spark" in c.value for c in at.caption)
    agreement = _expected(lake, "duckdb")["agreement"]
    assert _shown(at)["Krippendorff's alpha"] == f"{agreement['krippendorff_alpha']:.3f}"
