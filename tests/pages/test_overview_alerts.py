"""The Overview's label-noise tiles and alerts, through ``AppTest`` on DuckDB files: the tiles show the
engine's values with their change, missing data shows as missing, breaches show in words, and an alerts
file's text is shown as text."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics.monitoring import alerts, indicators, overview
from analytics.narrative import alerts as alert_words
from analytics.narrative import overview as overview_words
from analytics.store import Store
from analytics.store import detection as detection_queries
from tests.analytics.alert_worlds import build_world
from ui.safe_text import md

ROOT = pathlib.Path(__file__).resolve().parents[2]
TILES = ("Disagreement rate", "Krippendorff's alpha", "Suspect rate", "Consensus matches gold")


@pytest.fixture
def demo_db(demo_store_path, tmp_path) -> pathlib.Path:
    """A private copy of the session's demo store, in a folder of its own (for an alerts.toml beside it)."""
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    return copy


def _app(monkeypatch, db: pathlib.Path) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(db))
    monkeypatch.delenv(alerts.ALERTS_ENV, raising=False)
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _tile(at: AppTest, label: str):
    (tile,) = [m for m in at.metric if m.label == label]
    return tile


def test_the_noise_tiles_show_the_engines_values_and_changes(monkeypatch, demo_db):
    at = _app(monkeypatch, demo_db)
    with Store(demo_db) as store:
        comparison = overview.trend(store, days=30)
        run_id = detection_queries.runs(store)["run_id"].iloc[0]
        trend = indicators.noise_trend(store, None, comparison, run_id=run_id)
    for label, indicator in zip(TILES, trend.indicators, strict=True):
        tile = _tile(at, label)
        assert tile.value == overview_words.indicator_value(indicator, indicator.current.value)
        change = indicator.change()
        assert tile.delta == overview_words.indicator_change(change, share=indicator.share)
        if change.significant:
            assert tile.proto.direction != tile.proto.NONE
            assert tile.proto.color == (tile.proto.GREEN if change.better else tile.proto.RED)
        else:
            assert (tile.proto.color, tile.proto.direction) == (tile.proto.GRAY, tile.proto.NONE)
        assert overview_words.change_interval(change, share=indicator.share) in tile.proto.help
    captions = [c.value for c in at.caption]
    assert "**Label noise.** " + overview_words.noise_window_sentence(comparison) in captions
    alpha = trend.get("alpha").current
    assert f"95% CI {alpha.low:.3f}–{alpha.high:.3f} · {alpha.n:,} items" in captions
    verdict = [t.value for t in at.text]
    assert overview_words.noise_sentence(trend, comparison) in verdict


def test_the_demos_breach_shows_in_words_with_every_rule(monkeypatch, demo_db):
    at = _app(monkeypatch, demo_db)
    with Store(demo_db) as store:
        report = alerts.evaluate(store, alerts.AlertConfig(alerts.DEFAULT_RULES))
    (declining,) = [e for e in report.evaluations if e.rule.id == "declining-annotator"]
    assert declining.status == alerts.BREACHED
    (warning,) = at.warning
    assert warning.value.startswith(md(alert_words.headline(report)))
    assert f"- **{md('declining-annotator')}**: {md(alert_words.finding(declining))}" in warning.value
    assert not at.error
    (rules,) = [e for e in at.expander if e.label.startswith("Alert rules")]
    assert rules.label == "Alert rules (4)"
    texts = [m.value for m in rules.markdown] + [c.value for c in rules.caption]
    for evaluation in report.evaluations:
        assert md(alert_words.finding(evaluation)) in texts
    assert any(t.startswith(md(alert_words.source_words(report.config))) for t in texts)
    assert any("the sidebar filters do not apply" in t for t in texts)


def test_an_alerts_file_beside_the_store_is_read_and_a_broken_one_is_an_error(monkeypatch, demo_db):
    beside = demo_db.parent / "alerts.toml"
    beside.write_text("[[alert]]\nid = 'lenient'\nkind = 'agreement_below'\nmin = 0.2\n")
    at = _app(monkeypatch, demo_db)
    (success,) = at.success
    assert success.value == md("No alert breached (1 rule checked).")
    assert not at.warning

    beside.write_text("[[alert]]\nid = 'lenient'\nkind = 'agreement_below'\nmin = 'low'\n")
    at.run()  # the file is read again on every run: an edit shows at once
    assert not at.exception
    (error,) = at.error
    assert error.value == ("The alerts file cannot be used, so no alert is evaluated: "
                           + md(f"{beside}: alert 1 (id 'lenient'): key 'min': expected a number in [-1, 1], "
                                "got 'low'"))
    assert _tile(at, "Disagreement rate").value.endswith("%")  # the rest of the page still works


def test_missing_data_shows_as_missing_not_as_a_number(monkeypatch, tmp_path):
    db = tmp_path / "bare.duckdb"
    build_world(db, gold=False)
    at = _app(monkeypatch, db)
    assert _tile(at, "Suspect rate").value == "n/a"
    assert _tile(at, "Consensus matches gold").value == "n/a"
    captions = [c.value for c in at.caption]
    assert ("No detection run yet: run it on the Suspects page or with `python -m analytics score`."
            in captions)
    assert any(c.startswith("No gold item labeled in this window") for c in captions)
    assert _tile(at, "Disagreement rate").value.endswith("%")
    info = [i.value for i in at.info] + [w.value for w in at.warning] + [s.value for s in at.success]
    assert any("Not evaluated for lack of data: noisy" in text.replace("\\", "") for text in info)


def test_an_alerts_ids_and_stored_slice_values_are_shown_as_text(monkeypatch, tmp_path):
    db = tmp_path / "hostile.duckdb"
    build_world(db, fax="[fax](http://evil.test)")
    (tmp_path / "alerts.toml").write_text(
        "[[alert]]\nid = '**bold** <b>x</b>'\nkind = 'slice_noise_above'\nmetric = 'disagreement'\n"
        "max_rate = 0.3\ndescription = '![img](http://evil.test/i.png)'\n")
    at = _app(monkeypatch, db)
    (warning,) = at.warning
    assert "[fax](http" not in warning.value and "**bold**" not in warning.value
    assert md("source = [fax](http://evil.test)") in warning.value
    assert f"**{md('**bold** <b>x</b>')}**" in warning.value
    (rules,) = [e for e in at.expander if e.label.startswith("Alert rules")]
    assert not any("![img](" in m.value for m in rules.markdown)


def test_under_a_filter_the_page_says_the_alerts_cover_the_whole_store(monkeypatch, demo_db):
    note = "Alerts cover the whole store, as `python -m analytics check` does: the sidebar filters"
    at = _app(monkeypatch, demo_db)
    assert not any(c.value.startswith(note) for c in at.caption)
    warning = at.warning[0].value
    at.multiselect(key="filters.cohorts").set_value(["expert"]).run()
    assert any(c.value.startswith(note) for c in at.caption)
    assert at.warning[0].value == warning  # the same rules on the same store, whatever the filter
