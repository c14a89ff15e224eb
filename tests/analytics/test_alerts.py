"""Alert rules: the TOML file (its schema, its errors, where it is found) and each rule breached or not on
stores built through the import pipeline, checked against independent computations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from analytics.core.schema import EventFilter
from analytics.monitoring import alerts
from analytics.monitoring.alerts import (
    BORDERLINE,
    BREACHED,
    NO_DATA,
    OK,
    AlertConfigError,
    AlertRule,
    evaluate,
    parse_alerts,
)
from analytics.narrative import alerts as words
from analytics.store import Store
from tests.analytics.alert_worlds import add_run, build_world

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """steady: the same accuracy throughout; drop: agreement steps down from week 8; rise: up from week 8."""
    folder = tmp_path_factory.mktemp("alert-worlds")
    found = {}
    for name, options in (("steady", {}), ("drop", {"late_accuracy": 0.65}),
                          ("rise", {"accuracy": 0.65, "fax_accuracy": 0.45, "late_accuracy": 0.92})):
        path = folder / f"{name}.duckdb"
        found[name] = (path, build_world(path, **options))
    return found


def _check(path: Path, text: str, flt: EventFilter | None = None) -> list[alerts.Evaluation]:
    with Store(path, read_only=True) as store:
        return list(evaluate(store, parse_alerts(text, "alerts.toml"), flt).evaluations)


def _one(path: Path, text: str) -> alerts.Evaluation:
    (found,) = _check(path, text)
    return found


# --- the file --------------------------------------------------------------------------------------------


def test_the_example_file_is_the_built_in_defaults():
    config = alerts.load_alerts(ROOT / "data" / "alerts.example.toml")
    assert config.rules == alerts.DEFAULT_RULES
    assert [rule.kind for rule in config.rules] == ["agreement_below", "slice_noise_above", "change_point",
                                                    "annotator_flag"]


def test_an_empty_file_declares_no_alert():
    config = parse_alerts("# nothing here\n", "alerts.toml")
    assert config.rules == () and not config.defaults
    empty = "No alert rule is declared (alerts.toml is empty)."
    assert words.headline(alerts.AlertReport(config, ())) == empty


def test_every_key_of_every_kind_parses_with_its_default():
    config = parse_alerts("""
[[alert]]
id = "a"
kind = "agreement_below"
min = 0.5
metric = "percent_agreement"
test = "estimate"
days = 14

[[alert]]
id = "s"
kind = "slice_noise_above"
max_rate = 0.2

[[alert]]
id = "c"
kind = "change_point"
series = ["labels", "gold"]
direction = "any"
within_days = 29
""", "alerts.toml")
    first, second, third = config.rules
    assert (first.metric, first.threshold, first.test) == ("percent_agreement", 0.5, "estimate")
    assert first.days == 14
    assert second.params() == {"max_rate": 0.2, "metric": "suspect", "fdr": 0.05, "min_items": 30,
                               "pairs": False}
    assert third.params() == {"within_days": 29, "series": ["labels", "gold"], "direction": "any"}


BAD = [
    ("[[alert]\n", "alerts.toml: not valid TOML: "),
    ("[settings]\nx = 1\n", "alerts.toml: unknown top-level key 'settings'; expected only [[alert]] tables"),
    ("[alert]\nid = 'a'\n", "alerts.toml: 'alert' must be an array of tables ([[alert]]), got a single "
     "[alert] table"),
    ("[[alert]]\nkind = 'change_point'\n", "alerts.toml: alert 1 (no id): key 'id': expected a value (every "
     "alert needs an id and a kind), got nothing"),
    ("[[alert]]\nid = 'x'\nkind = 'alpha_below'\n", "alerts.toml: alert 1 (id 'x'): key 'kind': expected one "
     "of agreement_below, suspect_rate_above, gold_accuracy_below, slice_noise_above, change_point, "
     "annotator_flag, got 'alpha_below'"),
    ("[[alert]]\nid = 'x'\nkind = 'agreement_below'\n", "alerts.toml: alert 1 (id 'x'): key 'min': "
     "expected a value (an agreement_below alert needs min), got nothing"),
    ("[[alert]]\nid = 'x'\nkind = 'agreement_below'\nmin = '0.6'\n", "alerts.toml: alert 1 (id 'x'): key "
     "'min': expected a number in [-1, 1], got '0.6'"),
    ("[[alert]]\nid = 'x'\nkind = 'agreement_below'\nmin = 0.6\nmetric = 'percent_agreement'\nminimum = 1\n",
     "alerts.toml: alert 1 (id 'x'): key 'minimum': expected a key of an agreement_below alert (id, kind, "
     "description, min, metric, test, days), got an unknown key"),
    ("[[alert]]\nid = 'x'\nkind = 'agreement_below'\nmin = -0.5\nmetric = 'percent_agreement'\n",
     "alerts.toml: alert 1 (id 'x'): key 'min': expected a number in [0, 1], got -0.5"),
    ("[[alert]]\nid = 'x'\nkind = 'agreement_below'\nmin = 0.6\nmetric = 'cohen'\n", "alerts.toml: alert 1 "
     "(id 'x'): key 'metric': expected one of 'krippendorff_alpha', 'fleiss_kappa', 'gwet_ac1', "
     "'percent_agreement', got 'cohen'"),
    ("[[alert]]\nid = 'x'\nkind = 'agreement_below'\nmin = 0.6\ntest = 'point'\n", "alerts.toml: alert 1 "
     "(id 'x'): key 'test': expected one of 'interval', 'estimate', got 'point'"),
    ("[[alert]]\nid = 'x'\nkind = 'gold_accuracy_below'\nmin = 0.9\ndays = 0\n", "alerts.toml: alert 1 "
     "(id 'x'): key 'days': expected a whole number ≥ 1, got 0"),
    ("[[alert]]\nid = 'x'\nkind = 'gold_accuracy_below'\nmin = 1\n", "alerts.toml: alert 1 (id 'x'): key "
     "'min': expected a number in a share in (0, 1), got 1"),
    ("[[alert]]\nid = 'x'\nkind = 'suspect_rate_above'\nmax_rate = 10\n", "alerts.toml: alert 1 (id 'x'): "
     "key 'max_rate': expected a number in (0, 1), got 10"),
    ("[[alert]]\nid = 'x'\nkind = 'slice_noise_above'\nmax_rate = 0.1\nfdr = true\n", "alerts.toml: alert 1 "
     "(id 'x'): key 'fdr': expected a number in (0, 1), got True"),
    ("[[alert]]\nid = 'x'\nkind = 'slice_noise_above'\nmax_rate = 0.1\npairs = 'yes'\n", "alerts.toml: "
     "alert 1 (id 'x'): key 'pairs': expected true or false, got 'yes'"),
    ("[[alert]]\nid = 'x'\nkind = 'change_point'\nwithin_days = 28\n", "alerts.toml: alert 1 (id 'x'): key "
     "'within_days': expected a whole number ≥ 29 (a change needs 28 days of data after it to be dated), "
     "got 28"),
    ("[[alert]]\nid = 'x'\nkind = 'change_point'\nseries = ['labels']\n", "alerts.toml: alert 1 (id 'x'): "
     "key 'direction': expected 'any' when series holds \"labels\" (a label share has no worse "
     "direction), got 'worse'"),
    ("[[alert]]\nid = 'x'\nkind = 'change_point'\nseries = []\n", "alerts.toml: alert 1 (id 'x'): key "
     "'series': expected a non-empty list of 'agreement', 'majority', 'gold', 'suspects', 'labels', got []"),
    ("[[alert]]\nid = 'x'\nkind = 'annotator_flag'\nflags = ['slow']\n", "alerts.toml: alert 1 (id 'x'): key "
     "'flags': expected a non-empty list of 'declining', 'below peers', 'near chance', got ['slow']"),
    ("[[alert]]\nid = 'x'\nkind = 'annotator_flag'\nmin_annotators = 1.5\n", "alerts.toml: alert 1 (id 'x'): "
     "key 'min_annotators': expected a whole number ≥ 1, got 1.5"),
    ("[[alert]]\nid = 'x'\nkind = 'annotator_flag'\ndescription = ''\n", "alerts.toml: alert 1 (id 'x'): key "
     "'description': expected non-empty text, got ''"),
    ("[[alert]]\nid = 'x'\nkind = 'annotator_flag'\n[[alert]]\nid = 'x'\nkind = 'change_point'\n",
     "alerts.toml: alert 2 (id 'x'): key 'id': expected an id no other alert has, got the id of alert 1"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m.split("key ")[-1][:30] for _, m in BAD])
def test_a_wrong_file_is_refused_naming_the_file_the_alert_and_the_key(text, message):
    with pytest.raises(AlertConfigError) as caught:
        parse_alerts(text, "alerts.toml")
    assert str(caught.value).startswith(message)


def test_the_file_is_named_by_the_environment_else_found_beside_the_store(tmp_path, monkeypatch):
    monkeypatch.delenv(alerts.ALERTS_ENV, raising=False)
    db = tmp_path / "lw.duckdb"
    assert alerts.find_alerts_file(db) is None
    assert alerts.alert_config(db).defaults and alerts.alert_config(db).rules == alerts.DEFAULT_RULES
    beside = tmp_path / "alerts.toml"
    beside.write_text("[[alert]]\nid = 'mine'\nkind = 'annotator_flag'\n")
    assert alerts.find_alerts_file(db) == beside
    assert [r.id for r in alerts.alert_config(db).rules] == ["mine"]
    assert alerts.alert_config(db).source == str(beside)
    named = tmp_path / "elsewhere.toml"
    named.write_text("")
    monkeypatch.setenv(alerts.ALERTS_ENV, str(named))
    assert alerts.alert_config(db).rules == ()
    assert alerts.alert_config(db, beside).source == str(beside)  # a path given wins (check --config)


def test_a_named_file_that_is_missing_is_an_error_not_the_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv(alerts.ALERTS_ENV, str(tmp_path / "typo.toml"))
    with pytest.raises(AlertConfigError, match=r"typo\.toml: cannot read the alerts file"):
        alerts.alert_config(tmp_path / "lw.duckdb")


# --- agreement_below --------------------------------------------------------------------------------------


def _agreement_rule(minimum: float, *, test: str = "interval", metric: str = "krippendorff_alpha",
                    days: int | None = None) -> str:
    extra = f"days = {days}\n" if days else ""
    return (f"[[alert]]\nid = 'agree'\nkind = 'agreement_below'\nmetric = '{metric}'\nmin = {minimum}\n"
            f"test = '{test}'\n{extra}")


def test_agreement_below_compares_the_whole_interval_or_the_estimate(worlds):
    path, _ = worlds["steady"]
    with Store(path, read_only=True) as store:
        alpha = alerts.Evidence(store).headline.overall["krippendorff_alpha"]
    value, low, high = alpha.value, alpha.ci_low, alpha.ci_high
    assert low < value < high
    cases = [
        (high + 0.01, "interval", BREACHED), (high + 0.01, "estimate", BREACHED),
        ((value + high) / 2, "interval", BORDERLINE), ((value + high) / 2, "estimate", BREACHED),
        ((low + value) / 2, "interval", BORDERLINE), ((low + value) / 2, "estimate", BORDERLINE),
        (low - 0.01, "interval", OK), (low - 0.01, "estimate", OK),
    ]
    for minimum, test, expected in cases:
        found = _one(path, _agreement_rule(round(minimum, 6), test=test))
        found_all = (found.status, found.value, found.low, found.high)
        assert found_all == (expected, value, low, high), (minimum, test)
    found = _one(path, _agreement_rule(round(high + 0.01, 6)))
    said = f"Krippendorff's alpha is {value:.3f} (95% CI {low:.3f}–{high:.3f}, {alpha.n_items:,} items)"
    assert words.finding(found).startswith(said + ": below the minimum of")


def test_percent_agreement_is_the_overviews_and_days_read_the_last_days_of_data(worlds):
    from analytics.monitoring import overview

    path, rows = worlds["steady"]
    found = _one(path, _agreement_rule(0.5, metric="percent_agreement", days=30))
    last = rows["events"]["labeled_at"].max().date()
    assert found.window == (last - dt.timedelta(days=29), last)
    with Store(path, read_only=True) as store:
        window = overview.overview_summary(store, EventFilter(start=found.window[0], end=found.window[1]))
    # the same SQL on the same rows; DuckDB's parallel sums may differ in the last bits between two runs
    assert (found.value, found.low, found.high) == pytest.approx(
        (window.percent_agreement, window.pa_ci_low, window.pa_ci_high), rel=1e-12)
    assert found.status == OK and found.n == window.agreement_items < 640


# --- gold and suspects ------------------------------------------------------------------------------------


def _majority(events: pd.DataFrame) -> pd.Series:
    """Each item's most frequent label; ties to the label given most often overall, then the smallest."""
    overall = events["label"].value_counts()
    rank = {label: (-overall[label], label) for label in overall.index}
    counts = events.groupby(["item_id", "label"]).size().rename("n").reset_index()
    counts["key"] = [(-n, rank[label]) for n, label in zip(counts["n"], counts["label"], strict=True)]
    return counts.sort_values("key").groupby("item_id")["label"].first()


def test_gold_accuracy_is_the_majority_against_gold_with_wilsons_interval(worlds):
    path, rows = worlds["steady"]
    gold = rows["gold"].set_index("item_id")["label"]
    right = int((_majority(rows["events"]).reindex(gold.index) == gold).sum())
    low, high = proportion_confint(right, len(gold), method="wilson")
    for minimum, expected in ((round(high + 0.01, 4), BREACHED), (round(low - 0.01, 4), OK),
                              (round((low + high) / 2, 4), BORDERLINE)):
        found = _one(path, f"[[alert]]\nid = 'g'\nkind = 'gold_accuracy_below'\nmin = {minimum}\n")
        assert found.status == expected
        assert (found.value, found.n) == (pytest.approx(right / len(gold)), len(gold))
        assert (found.low, found.high) == (pytest.approx(low), pytest.approx(high))


def test_gold_and_suspect_rules_say_what_is_missing(tmp_path):
    path = tmp_path / "bare.duckdb"
    build_world(path, gold=False)
    suspects, gold = _check(path, "[[alert]]\nid = 's'\nkind = 'suspect_rate_above'\nmax_rate = 0.1\n"
                                  "[[alert]]\nid = 'g'\nkind = 'gold_accuracy_below'\nmin = 0.9\n")
    assert (suspects.status, suspects.missing) == (NO_DATA, alerts.NO_RUN)
    assert (gold.status, gold.missing) == (NO_DATA, alerts.NO_GOLD)
    assert words.finding(suspects) == ("Not evaluated: no detection run; run detection first (python -m "
                                       "analytics score, or the Suspects page).")


def test_suspect_rate_reads_the_latest_run(tmp_path):
    path = tmp_path / "run.duckdb"
    rows = build_world(path)
    items = rows["items"]["item_id"].tolist()
    with Store(path) as store:
        add_run(store, {item: k % 10 == 0 for k, item in enumerate(items)})  # 64 of 640 flagged
    low, high = proportion_confint(64, 640, method="wilson")
    found = _one(path, "[[alert]]\nid = 's'\nkind = 'suspect_rate_above'\nmax_rate = 0.05\n")
    assert (found.status, found.value, found.n) == (BREACHED, 0.1, 640)
    assert (found.low, found.high) == (pytest.approx(low), pytest.approx(high))
    rule = "[[alert]]\nid = 's'\nkind = 'suspect_rate_above'\nmax_rate = {}\n"
    assert _one(path, rule.format(0.11)).status == BORDERLINE
    assert _one(path, rule.format(0.2)).status == OK


# --- slices -----------------------------------------------------------------------------------------------


def _slice_rule(max_rate: float, metric: str = "disagreement") -> str:
    return f"[[alert]]\nid = 'sl'\nkind = 'slice_noise_above'\nmetric = '{metric}'\nmax_rate = {max_rate}\n"


def _disputed(rows: dict) -> pd.DataFrame:
    """Per slice: items with 2+ ratings and those whose ratings are not unanimous."""
    events, items = rows["events"], rows["items"].set_index("item_id")
    per_item = events.groupby("item_id")["label"].agg(["size", "nunique"])
    per_item["source"] = items.loc[per_item.index, "source"]
    rated = per_item[per_item["size"] >= 2]
    return rated.groupby("source").agg(n=("size", "size"), x=("nunique", lambda s: int((s > 1).sum())))


@pytest.mark.parametrize("max_rate", [0.3, 0.5, 0.7, 0.73, 0.9])
def test_a_slice_breaches_only_when_significantly_above_the_rate_after_bh(worlds, max_rate):
    path, rows = worlds["steady"]
    counts = _disputed(rows)
    p = [stats.binomtest(int(r.x), int(r.n), max_rate, alternative="greater").pvalue
         for r in counts.itertuples()]
    q = multipletests(p, method="fdr_bh")[1]
    breached = {f"source = {s}" for s, qi in zip(counts.index, q, strict=True) if qi <= 0.05}
    above = {f"source = {s}" for s, r in counts.iterrows() if r.x / r.n > max_rate} - breached
    found = _one(path, _slice_rule(max_rate))
    assert {h.subject for h in found.hits if h.breached} == breached
    assert {h.subject for h in found.hits if not h.breached} == above
    expected = BREACHED if breached else BORDERLINE if above else OK
    assert found.status == expected and found.n == 2
    for hit in found.hits:
        index = list(counts.index).index(hit.subject.removeprefix("source = "))
        assert hit.q_value == pytest.approx(q[index]) and hit.p_value == pytest.approx(p[index])
        assert (hit.low, hit.high) == pytest.approx(proportion_confint(
            counts["x"].iloc[index], counts["n"].iloc[index], method="wilson"))


def test_the_fax_slice_of_the_steady_world_breaches_at_30_percent(worlds):
    found = _one(worlds["steady"][0], _slice_rule(0.3))
    assert found.status == BREACHED and [h.subject for h in found.hits] == ["source = fax"]
    assert words.finding(found).startswith("1 of 2 slices tested is significantly above 30% (share of items "
                                           "whose annotators disagree; Benjamini–Hochberg, FDR 5%): source = "
                                           "fax ")


def test_a_slice_rule_without_its_data_is_not_evaluated(tmp_path, worlds):
    assert _one(worlds["steady"][0], _slice_rule(0.1, "suspect")).missing == alerts.NO_RUN
    path = tmp_path / "flat.duckdb"
    build_world(path, attributes=False)
    assert _one(path, _slice_rule(0.1)).missing == alerts.NO_SLICE
    pinned = EventFilter(attribute="source", attribute_value="fax")  # no other attribute left to slice by
    (found,) = _check(worlds["steady"][0], _slice_rule(0.1), pinned)
    assert (found.status, found.missing) == (NO_DATA, alerts.NO_SLICE)


# --- change points ----------------------------------------------------------------------------------------


def _change_rule(within: int, direction: str = "worse") -> str:
    return (f"[[alert]]\nid = 'cp'\nkind = 'change_point'\nwithin_days = {within}\n"
            f"direction = '{direction}'\n")


def test_a_new_change_point_breaches_and_an_older_one_does_not(worlds):
    path, rows = worlds["drop"]
    last = rows["events"]["labeled_at"].max().date()
    found = _one(path, _change_rule(60))
    assert found.status == BREACHED
    assert {h.subject for h in found.hits} >= {"percent agreement", "agreement with the majority"}
    change = dt.date(2024, 2, 26)  # week 8, a Monday: the first window after the step
    assert {h.when for h in found.hits} == {change} and all(h.value < 0 for h in found.hits)
    assert (last - change).days < 60
    older = _one(path, _change_rule((last - change).days - 1))
    assert older.status == OK and older.hits == ()
    assert words.finding(older).startswith("No change point since ")
    assert _one(worlds["steady"][0], _change_rule(120)).status == OK


def test_an_improvement_is_a_change_but_not_a_worsening(worlds):
    path, _ = worlds["rise"]
    assert _one(path, _change_rule(90)).status == OK
    anyway = _one(path, _change_rule(90, "any"))
    assert anyway.status == BREACHED and all(h.value > 0 for h in anyway.hits)


def test_a_change_rule_on_series_the_store_lacks_is_not_evaluated(tmp_path):
    path = tmp_path / "nogold.duckdb"
    build_world(path, gold=False)
    found = _one(path, "[[alert]]\nid = 'cp'\nkind = 'change_point'\nseries = ['gold', 'suspects']\n")
    assert (found.status, found.missing) == (NO_DATA, alerts.NO_SERIES)


# --- annotators -------------------------------------------------------------------------------------------


def test_the_demos_declining_annotator_breaches(demo_store_path):
    found = _one(demo_store_path, "[[alert]]\nid = 'd'\nkind = 'annotator_flag'\n")
    assert found.status == BREACHED and [h.subject for h in found.hits] == ["ann-009"]
    with Store(demo_store_path, read_only=True) as store:
        truth = store.scalar("SELECT note FROM demo_annotator_truth WHERE annotator_id = 'ann-009'")
    assert "falls" in truth  # the demo made ann-009 decline on purpose
    (hit,) = found.hits
    assert hit.before > hit.after and hit.q_value < 0.05 and hit.flags == ("declining",)
    two = _one(demo_store_path, "[[alert]]\nid = 'd'\nkind = 'annotator_flag'\nmin_annotators = 2\n")
    assert two.status == BORDERLINE and "fewer than the 2 the rule needs" in words.finding(two)


def test_no_annotator_flagged_is_ok_and_other_flags_can_be_asked_for(worlds, demo_store_path):
    assert _one(worlds["steady"][0], "[[alert]]\nid = 'd'\nkind = 'annotator_flag'\n").status == OK
    chance = _one(demo_store_path, "[[alert]]\nid = 'c'\nkind = 'annotator_flag'\nflags = ['near chance']\n")
    assert chance.status == BREACHED and len(chance.hits) >= 2
    assert all(h.flags == ("near chance",) and h.q_value is None for h in chance.hits)


# --- the whole report -------------------------------------------------------------------------------------


def test_an_empty_store_evaluates_nothing(tmp_path):
    with Store(tmp_path / "empty.duckdb") as store:
        report = evaluate(store, alerts.AlertConfig(alerts.DEFAULT_RULES))
    assert {e.status for e in report.evaluations} == {NO_DATA}
    assert {e.missing for e in report.evaluations} == {alerts.NO_EVENTS}
    assert words.headline(report) == ("No alert breached (4 rules checked). Not evaluated for lack of data: "
                                      "alpha, noisy-slice, new-change, declining-annotator.")


def test_the_defaults_on_the_demo(demo_store_path):
    with Store(demo_store_path, read_only=True) as store:
        report = evaluate(store, alerts.AlertConfig(alerts.DEFAULT_RULES))
    statuses = {e.rule.id: e.status for e in report.evaluations}
    assert statuses["declining-annotator"] == BREACHED
    assert statuses["noisy-slice"] in (OK, BORDERLINE, BREACHED) and statuses["new-change"] != NO_DATA
    assert words.headline(report).startswith(f"{len(report.breached)} of 4 alerts breached: ")
    assert words.source_words(report.config).startswith(
        "No alerts file ($LABELWATCH_ALERTS, or alerts.toml beside the store): the 4 built-in default "
        "rules apply")
    for evaluation in report.evaluations:
        assert words.line(evaluation).startswith(f"[{words.STATUS_WORDS[evaluation.status]}] "
                                                 f"{evaluation.rule.id}: ")


def test_hits_are_json_ready():
    hit = alerts.Hit("x", True, np.float64(0.5), np.nan, 1.0, np.int64(3), when=dt.date(2024, 1, 1))
    assert hit.to_dict() == {"subject": "x", "breached": True, "value": 0.5, "low": None, "high": 1.0, "n": 3,
                             "p_value": None, "q_value": None, "before": None, "after": None,
                             "when": "2024-01-01", "cohort": None, "flags": []}


def test_rule_words_name_the_threshold_and_the_test():
    rule = AlertRule("x", "gold_accuracy_below", threshold=0.925, test="estimate", days=7)
    assert words.rule_words(rule) == ("majority labels matching gold in the last 7 days on fewer than 92.5% "
                                      "of gold items (the estimate)")
