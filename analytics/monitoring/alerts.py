"""Alert thresholds: rules declared in a TOML file, evaluated with the engine's own estimates, intervals and
tests, for the Overview page, ``summary --json`` (``alerts``) and ``python -m analytics check``.

Where the rules come from (``alert_config``): a file named on the command line (``check --config``), else
``$LABELWATCH_ALERTS``, else ``alerts.toml`` beside the store file, else the built-in ``DEFAULT_RULES``
(``data/alerts.example.toml`` writes them out). A named file that is missing is an error, not a silent
fallback to the defaults; an empty file declares no alert.

The file
--------
One ``[[alert]]`` table per rule, nothing else at the top level. Every rule has ``id`` (text, unique in the
file) and ``kind``; ``description`` (text) is optional and shown with the rule. The other keys depend on
the kind (defaults in brackets):

``agreement_below``
    ``min`` (required, in [−1, 1]; [0, 1] for percent agreement): the coefficient ``metric``
    [``"krippendorff_alpha"``; or ``"fleiss_kappa"``, ``"gwet_ac1"``, ``"percent_agreement"``] is below it.
    ``test`` [``"interval"``]: see *Single values* below. ``days`` [all the data]: only the last ``days`` days
    of data.
``suspect_rate_above``
    ``max_rate`` (required, in (0, 1)): the share of items the latest detection run flags as likely
    mislabeled is above it. ``test``, ``days`` as above.
``gold_accuracy_below``
    ``min`` (required, in (0, 1)): of the items with a gold label, the share whose majority label is one of
    them is below it. ``test``, ``days`` as above.
``slice_noise_above``
    ``max_rate`` (required, in (0, 1)): some slice's noise rate is significantly above it. ``metric``
    [``"suspect"``; or ``"gold_error"``, ``"disagreement"``: the Slices page's metrics], ``fdr`` [0.05],
    ``min_items`` [30], ``pairs`` [false: single attributes only; true adds pairs of attributes].
``change_point``
    A change point found in the last ``within_days`` [56] days of the data. ``series``
    [``["agreement", "majority", "gold", "suspects"]``; ``"labels"`` adds the label shares and pairs];
    ``direction`` [``"worse"``: agreement, agreement with the majority or gold accuracy down, suspect rate
    up; or ``"any"``]. ``within_days`` must exceed 28: the engine needs 28 days of data after a change
    (``drift.MIN_SEGMENT_DAYS``) before it can date it.
``annotator_flag``
    At least ``min_annotators`` [1] annotators carry one of ``flags`` [``["declining"]``; or
    ``"below peers"``, ``"near chance"``]: the flags of the annotator reliability table (the Agreement page,
    ``summary --json``'s ``annotators``).

A problem in the file raises ``AlertConfigError`` naming the file, the rule (position and id) and the key.

Evaluation
----------
Each rule gets a status: ``breached``, ``borderline`` (the threshold lies within the noise of the estimate,
or fewer annotators than ``min_annotators`` are flagged), ``ok``, or ``no data`` (what the rule reads is
missing: no detection run, no gold item, no slice large enough, no event; ``missing`` says what).

*Single values* (``agreement_below``, ``suspect_rate_above``, ``gold_accuracy_below``). With ``test =
"interval"`` a rule is breached when the whole 95% interval lies past the threshold, and borderline when the
interval holds the threshold; with ``test = "estimate"`` it is breached when the estimate is past the
threshold, and borderline when only the interval reaches past it. Intervals: alpha, kappa and AC1 the
Agreement page's (BCa bootstrap over items), percent agreement the Overview's (Wilson on the effective number
of items), the two shares Wilson's.

*Slices.* Every slice the Slices page tests (``analytics.monitoring.slices.slice_noise_table``: at least
``min_items`` measured items, and as many in the rest) gets a one-sided exact binomial test of H0: its noise
rate ≤ ``max_rate`` (p = P(X ≥ x), X ~ Binomial(n, ``max_rate``)); Benjamini–Hochberg over the slices
tested keeps the false-discovery rate at ``fdr``. A slice with q ≤ ``fdr`` breaches; one whose rate is above
``max_rate`` without that evidence is borderline. Items are treated as independent (the Slices page's
assumption).

*Change points* are the Drift page's (``analytics.monitoring.drift.drift_findings``: binary segmentation on
weekly windows, series kept after Benjamini–Hochberg across series); a change is new when its date (the
first window after it) falls in the last ``within_days`` days before the last event.

*Annotators*: the flags are those of ``analytics.monitoring.annotators.annotator_table`` (``declining``: the
second half of an annotator's ratings agrees less with the majority than the first, one-sided z-test,
Benjamini–Hochberg across annotators).

The rules are evaluated over a filter (none: the whole store, as ``check`` and ``summary`` do), every
number computed once per evaluation (``Evidence``).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analytics.agreement import coefficients as agreement
from analytics.agreement import report as agreement_report
from analytics.core.schema import EventFilter
from analytics.core.stats import bh_qvalues, wilson_interval
from analytics.monitoring import overview, periods, slices
from analytics.monitoring.drift import ANALYSIS_GRAIN, MIN_SEGMENT_DAYS, DriftFindings, drift_findings
from analytics.store import Store
from analytics.store import agreement as agreement_queries
from analytics.store import detection as detection_queries
from analytics.store import drift as drift_queries
from analytics.store import slices as slice_queries

#: The environment variable naming the alerts file, and the file looked for beside the store.
ALERTS_ENV, ALERTS_FILE_NAME = "LABELWATCH_ALERTS", "alerts.toml"

#: Rule kinds, in the order the documentation lists them.
KINDS = ("agreement_below", "suspect_rate_above", "gold_accuracy_below", "slice_noise_above", "change_point",
         "annotator_flag")
AGREEMENT_METRICS = ("krippendorff_alpha", "fleiss_kappa", "gwet_ac1", "percent_agreement")
SLICE_METRICS = tuple(slices.METRICS)
TESTS = ("interval", "estimate")
#: Series a ``change_point`` rule may follow: the quality series of ``drift.quality_series`` and "labels"
#: (every label share and pair share).
SERIES = ("agreement", "majority", "gold", "suspects", "labels")
QUALITY_SERIES = ("agreement", "majority", "gold", "suspects")
DIRECTIONS = ("worse", "any")
ANNOTATOR_FLAGS = ("declining", "below peers", "near chance")

#: Statuses, from the worst.
BREACHED, BORDERLINE, OK, NO_DATA = "breached", "borderline", "ok", "no data"
STATUSES = (BREACHED, BORDERLINE, OK, NO_DATA)

#: What a rule found missing (``Evaluation.missing``).
NO_EVENTS, NO_RUN, NOT_SCORED, NO_GOLD, NO_INTERVAL, NO_SLICE, NO_ANNOTATOR, NO_VALUE, NO_SERIES = (
    "no label event", "no detection run", "no item scored by the latest detection run", "no gold item",
    "no interval", "no slice large enough to test", "no annotator with enough ratings to test",
    "no value (no item rated twice)", "none of the series followed can be drawn from this store")


class AlertConfigError(ValueError):
    """An alerts file that cannot be used; the message names the file, the rule and the key."""


@dataclass(frozen=True)
class AlertRule:
    """One checked rule of an alerts file (see the module docstring for the kinds and their keys).

    ``threshold`` is the file's ``min`` (``agreement_below``, ``gold_accuracy_below``) or ``max_rate``
    (``suspect_rate_above``, ``slice_noise_above``); None for the other kinds.
    """

    id: str
    kind: str
    description: str | None = None
    metric: str | None = None
    threshold: float | None = None
    test: str = "interval"
    days: int | None = None
    fdr: float = 0.05
    min_items: int = 30
    pairs: bool = False
    within_days: int = 56
    series: tuple[str, ...] = QUALITY_SERIES
    direction: str = "worse"
    flags: tuple[str, ...] = ("declining",)
    min_annotators: int = 1

    def params(self) -> dict[str, Any]:
        """The rule's keys as the file spells them (defaults filled in), for ``summary --json``."""
        return {key: _KEY_VALUE[key](self) for key in _KEYS[self.kind]}


@dataclass(frozen=True)
class AlertConfig:
    """The rules in force and where they came from (``source``: the file; None for ``DEFAULT_RULES``)."""

    rules: tuple[AlertRule, ...]
    source: str | None = None

    @property
    def defaults(self) -> bool:
        return self.source is None


#: The rules in force without an alerts file: the four of ``data/alerts.example.toml``.
DEFAULT_RULES = (
    AlertRule("alpha", "agreement_below",
              "Labels whose annotators agree this little need clearer guidelines or adjudication before "
              "training on them.", metric="krippendorff_alpha", threshold=0.6),
    AlertRule("noisy-slice", "slice_noise_above",
              "A subgroup this noisy teaches the model its errors: relabel it (a campaign from the slice).",
              metric="suspect", threshold=0.10),
    AlertRule("new-change", "change_point",
              "Labeling quality moved lately: look for a guideline change, a new cohort or new tooling."),
    AlertRule("declining-annotator", "annotator_flag",
              "An annotator losing agreement with the others needs feedback or retraining."),
)


# --- the file ----------------------------------------------------------------------------------------------


def find_alerts_file(db_path: str | Path | None) -> Path | None:
    """The alerts file of a store: ``$LABELWATCH_ALERTS``, else ``alerts.toml`` beside the store, else None.

    A path named by the environment variable is returned even when missing, so that ``load_alerts`` says
    the configured file cannot be read instead of the defaults silently applying.
    """
    configured = os.environ.get(ALERTS_ENV, "").strip()
    if configured:
        return Path(configured)
    if db_path is None or str(db_path) == ":memory:":
        return None
    candidate = Path(db_path).parent / ALERTS_FILE_NAME
    return candidate if candidate.is_file() else None


def alert_source(db_path: str | Path | None, path: str | Path | None = None) -> tuple[str | None, str | None]:
    """The alerts file in force for a store and its text: ``path`` if given, else ``find_alerts_file``'s;
    ``(None, None)`` when there is none (the defaults apply).

    Raises
    ------
    AlertConfigError
        The file cannot be read.
    """
    found = Path(path) if path is not None else find_alerts_file(db_path)
    if found is None:
        return None, None
    try:
        return str(found), found.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AlertConfigError(f"{found}: cannot read the alerts file ({exc})") from exc


def alert_config(db_path: str | Path | None, path: str | Path | None = None) -> AlertConfig:
    """The rules in force for a store: ``path`` if given, else ``find_alerts_file``'s, else the defaults.

    Raises
    ------
    AlertConfigError
        The file cannot be read or is wrong.
    """
    source, text = alert_source(db_path, path)
    return AlertConfig(DEFAULT_RULES) if source is None else parse_alerts(text, source)


def load_alerts(source: str | Path, *, name: str | None = None) -> AlertConfig:
    """Read and check an alerts file (or TOML text).

    Parameters
    ----------
    source : str or Path
        A ``Path``, or a ``str`` without a line break: the file. A ``str`` with a line break: the TOML text.
    name : str or None
        The name used in messages and ``AlertConfig.source``; defaults to the path, or ``"<alerts text>"``.

    Raises
    ------
    AlertConfigError
        E.g. ``alerts.toml: alert 2 (id 'alpha'): key 'min': expected a number in [-1, 1], got '0.6'``.

    Examples
    --------
    >>> config = load_alerts('[[alert]]\\nid = "alpha"\\nkind = "agreement_below"\\nmin = 0.6\\n',
    ...                      name="alerts.toml")
    >>> config.rules[0].metric, config.rules[0].threshold, config.rules[0].test
    ('krippendorff_alpha', 0.6, 'interval')
    >>> load_alerts('[[alert]]\\nid = "a"\\nkind = "agreement_below"\\nmin = "0.6"\\n', name="alerts.toml")
    Traceback (most recent call last):
    ...
    analytics.monitoring.alerts.AlertConfigError: alerts.toml: alert 1 (id 'a'): key 'min': expected a \
number in [-1, 1], got '0.6'
    """
    if isinstance(source, str) and "\n" in source:
        return parse_alerts(source, name or "<alerts text>")
    where = name or str(source)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AlertConfigError(f"{where}: cannot read the alerts file ({exc})") from exc
    return parse_alerts(text, where)


def parse_alerts(text: str, where: str) -> AlertConfig:
    """Check the TOML ``text`` of an alerts file called ``where`` (in messages and ``AlertConfig.source``).

    Raises
    ------
    AlertConfigError
        As ``load_alerts``.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AlertConfigError(f"{where}: not valid TOML: {exc}") from exc
    unknown = sorted(set(document) - {"alert"})
    if unknown:
        raise AlertConfigError(f"{where}: unknown top-level key {unknown[0]!r}; expected only [[alert]] "
                               "tables")
    tables = document.get("alert", [])
    if not isinstance(tables, list):
        raise AlertConfigError(f"{where}: 'alert' must be an array of tables ([[alert]]), got a single "
                               "[alert] table")
    rules: list[AlertRule] = []
    first: dict[str, int] = {}
    for index, table in enumerate(tables, start=1):
        at = _Where(where, index, table.get("id") if isinstance(table, dict) else None)
        rule = _parse(table, at)
        if rule.id in first:
            raise at.error("id", f"an id no other alert has, got the id of alert {first[rule.id]}")
        first[rule.id] = index
        rules.append(rule)
    return AlertConfig(tuple(rules), where)


@dataclass(frozen=True)
class _Where:
    source: str
    index: int
    rule_id: Any

    def error(self, key: str, expected: str) -> AlertConfigError:
        who = f"id {self.rule_id!r}" if isinstance(self.rule_id, str) and self.rule_id.strip() else "no id"
        return AlertConfigError(
            f"{self.source}: alert {self.index} ({who}): key {key!r}: expected {expected}")


#: The keys of each kind besides id, kind and description; the first listed are required.
_KEYS = {
    "agreement_below": ("min", "metric", "test", "days"),
    "suspect_rate_above": ("max_rate", "test", "days"),
    "gold_accuracy_below": ("min", "test", "days"),
    "slice_noise_above": ("max_rate", "metric", "fdr", "min_items", "pairs"),
    "change_point": ("within_days", "series", "direction"),
    "annotator_flag": ("flags", "min_annotators"),
}
_REQUIRED = {"agreement_below": ("min",), "suspect_rate_above": ("max_rate",),
             "gold_accuracy_below": ("min",), "slice_noise_above": ("max_rate",)}
_KEY_VALUE = {
    "min": lambda r: r.threshold, "max_rate": lambda r: r.threshold, "metric": lambda r: r.metric,
    "test": lambda r: r.test, "days": lambda r: r.days, "fdr": lambda r: r.fdr,
    "min_items": lambda r: r.min_items, "pairs": lambda r: r.pairs, "within_days": lambda r: r.within_days,
    "series": lambda r: list(r.series), "direction": lambda r: r.direction, "flags": lambda r: list(r.flags),
    "min_annotators": lambda r: r.min_annotators,
}


def _parse(table: Any, at: _Where) -> AlertRule:
    if not isinstance(table, dict):
        raise at.error("alert", f"an [[alert]] table, got {table!r}")
    for key in ("id", "kind"):
        if key not in table:
            raise at.error(key, "a value (every alert needs an id and a kind), got nothing")
        _text(table, key, at)
    kind = table["kind"]
    if kind not in KINDS:
        raise at.error("kind", f"one of {', '.join(KINDS)}, got {kind!r}")
    known = ("id", "kind", "description", *_KEYS[kind])
    an = "an" if kind[0] in "aeiou" else "a"
    for key in table:
        if key not in known:
            raise at.error(key, f"a key of {an} {kind} alert ({', '.join(known)}), got an unknown key")
    for key in _REQUIRED.get(kind, ()):
        if key not in table:
            raise at.error(key, f"a value ({an} {kind} alert needs {key}), got nothing")
    found: dict[str, Any] = {"id": table["id"], "kind": kind}
    if "description" in table:
        found["description"] = _text(table, "description", at)
    if "min" in table:
        low = 0.0 if kind == "gold_accuracy_below" or table.get("metric") == "percent_agreement" else -1.0
        found["threshold"] = _number(table, "min", at, low, 1.0, closed=kind == "agreement_below")
    if "max_rate" in table:
        found["threshold"] = _number(table, "max_rate", at, 0.0, 1.0, closed=False)
    if "metric" in table:
        found["metric"] = _choice(table, "metric", at,
                                  AGREEMENT_METRICS if kind == "agreement_below" else SLICE_METRICS)
    elif kind in ("agreement_below", "slice_noise_above"):
        found["metric"] = "krippendorff_alpha" if kind == "agreement_below" else "suspect"
    if "test" in table:
        found["test"] = _choice(table, "test", at, TESTS)
    if "days" in table:
        found["days"] = _whole(table, "days", at, 1)
    if "fdr" in table:
        found["fdr"] = _number(table, "fdr", at, 0.0, 1.0, closed=False)
    if "min_items" in table:
        found["min_items"] = _whole(table, "min_items", at, 1)
    if "pairs" in table:
        found["pairs"] = _flag(table, "pairs", at)
    if "within_days" in table:
        found["within_days"] = _whole(table, "within_days", at, int(MIN_SEGMENT_DAYS) + 1,
                                      why=f" (a change needs {MIN_SEGMENT_DAYS:g} days of data after it to "
                                      "be dated)")
    if "series" in table:
        found["series"] = _choices(table, "series", at, SERIES)
    if "direction" in table:
        found["direction"] = _choice(table, "direction", at, DIRECTIONS)
    if found.get("direction", "worse") == "worse" and "labels" in found.get("series", ()):
        raise at.error("direction", "'any' when series holds \"labels\" (a label share has no worse "
                       "direction), got 'worse'")
    if "flags" in table:
        found["flags"] = _choices(table, "flags", at, ANNOTATOR_FLAGS)
    if "min_annotators" in table:
        found["min_annotators"] = _whole(table, "min_annotators", at, 1)
    return AlertRule(**found)


def _text(table: dict, key: str, at: _Where) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise at.error(key, f"non-empty text, got {value!r}")
    return value


def _number(table: dict, key: str, at: _Where, low: float, high: float, *, closed: bool) -> float:
    value = table[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    inside = ok and (low <= value <= high if closed else low < value < high)
    if not inside:
        bounds = f"[{low:g}, {high:g}]" if closed else f"({low:g}, {high:g})"
        if key == "min" and not closed:
            bounds = f"a share in {bounds}"
        raise at.error(key, f"a number in {bounds}, got {value!r}")
    return float(value)


def _whole(table: dict, key: str, at: _Where, minimum: int, *, why: str = "") -> int:
    value = table[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise at.error(key, f"a whole number ≥ {minimum}{why}, got {value!r}")
    return value


def _flag(table: dict, key: str, at: _Where) -> bool:
    value = table[key]
    if not isinstance(value, bool):
        raise at.error(key, f"true or false, got {value!r}")
    return value


def _choice(table: dict, key: str, at: _Where, allowed: Sequence[str]) -> str:
    value = table[key]
    if value not in allowed:
        raise at.error(key, f"one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
    return value


def _choices(table: dict, key: str, at: _Where, allowed: Sequence[str]) -> tuple[str, ...]:
    value = table[key]
    if not isinstance(value, list) or not value or any(v not in allowed for v in value):
        raise at.error(key, f"a non-empty list of {', '.join(repr(a) for a in allowed)}, got {value!r}")
    return tuple(dict.fromkeys(value))


# --- evaluation --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One slice, annotator or change point behind a rule's status (``breached``: it breaches; else it is
    borderline).

    ``subject`` names it (``"source = fax"``, an annotator id, a series in words). ``value`` with ``low``,
    ``high``: a slice's noise rate (Wilson), an annotator's agreement with the majority (Wilson), a change
    (its interval). ``n``: the items (slice) or majority-comparable ratings (annotator). ``p_value``,
    ``q_value``: a slice's test against the threshold, an annotator's ``declining`` test (q only), a change
    point's local test (p only). ``before``, ``after``: the annotator's first and second half, the segment
    means around a change. ``when``: the change's date. ``cohort``, ``flags``: the annotator's.
    """

    subject: str
    breached: bool
    value: float | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    p_value: float | None = None
    q_value: float | None = None
    before: float | None = None
    after: float | None = None
    when: dt.date | None = None
    cohort: str | None = None
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: numbers as floats or None, dates as ISO text."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(flags=list(self.flags), when=None if self.when is None else self.when.isoformat())
        return {key: _json(value) for key, value in out.items()}


@dataclass(frozen=True)
class Evaluation:
    """A rule and what it found.

    ``value``, ``low``, ``high``, ``n``: the single value of ``agreement_below``, ``suspect_rate_above`` and
    ``gold_accuracy_below`` (items it rests on); for the others ``n`` counts what was tested (slices,
    annotators, series). ``hits``: the slices, annotators or change points that breach or are borderline,
    worst first. ``window``: the days read (all the data: None). ``missing``: why the status is ``no data``.
    """

    rule: AlertRule
    status: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    hits: tuple[Hit, ...] = ()
    window: tuple[dt.date, dt.date] | None = None
    missing: str | None = None

    @property
    def breached(self) -> bool:
        return self.status == BREACHED


@dataclass(frozen=True)
class AlertReport:
    """Every rule of ``config`` evaluated over ``flt``, in file order."""

    config: AlertConfig
    evaluations: tuple[Evaluation, ...]
    last_at: dt.datetime | None = None
    sample_modulus: int = 1
    flt: EventFilter = field(default_factory=EventFilter)

    def with_status(self, status: str) -> tuple[Evaluation, ...]:
        return tuple(e for e in self.evaluations if e.status == status)

    @property
    def breached(self) -> tuple[Evaluation, ...]:
        return self.with_status(BREACHED)


class Evidence:
    """The engine results the rules read, each computed once, on first use.

    Parameters
    ----------
    store : Store
    flt : EventFilter or None
        The events the rules look at (None: every event).
    sample_modulus : int
        m > 1 reads the agreement, annotator, drift and slice inputs on a deterministic 1-in-m sample of
        items (large stores, as the dashboard's pages do); ``summary`` and ``check`` read every item.
    """

    def __init__(self, store: Store, flt: EventFilter | None = None, *, sample_modulus: int = 1) -> None:
        self.store, self.flt, self.sample_modulus = store, flt or EventFilter(), sample_modulus
        self._windows: dict[int, dict[str, Any]] = {}

    @functools.cached_property
    def run_id(self) -> str | None:
        """The latest detection run, or None."""
        runs = detection_queries.runs(self.store)
        return None if runs.empty else str(runs["run_id"].iloc[0])

    @functools.cached_property
    def overview(self) -> overview.OverviewSummary:
        """``overview.overview_summary`` with an exact item count (as ``summary`` reports it)."""
        return overview.overview_summary(self.store, self.flt, exact_items=True)

    @functools.cached_property
    def headline(self) -> agreement_report.Headline:
        """``agreement_report.headline``: alpha, Fleiss' kappa and AC1 with BCa intervals over items."""
        return agreement_report.headline(self.store, self.flt, sample_modulus=self.sample_modulus)

    @functools.cached_property
    def reliability(self) -> pd.DataFrame:
        """The annotator reliability table (``agreement_report.annotator_tables``)."""
        return agreement_report.annotator_tables(self.store, self.flt, sample_modulus=self.sample_modulus)[0]

    @functools.cached_property
    def drift(self) -> DriftFindings | None:
        """``drift_findings`` on weekly windows, the latest run's suspect rate included; None without
        events."""
        inputs = drift_queries.drift_inputs(self.store, self.flt, grain=ANALYSIS_GRAIN, run_id=self.run_id,
                                            sample_modulus=self.sample_modulus)
        return None if inputs.label_counts.empty else drift_findings(inputs)

    @functools.cached_property
    def cube(self) -> pd.DataFrame:
        """The slice cube of the filter, with the latest run's flags (``slice_queries.slice_cube``)."""
        return slice_queries.slice_cube(self.store, self.flt, run_id=self.run_id,
                                        sample_modulus=self.sample_modulus)

    def window(self, days: int | None) -> tuple[EventFilter, tuple[dt.date, dt.date] | None]:
        """The filter narrowed to the last ``days`` days of its data, and those days (None: all of it)."""
        last = self.overview.last_at
        if days is None or last is None:
            return self.flt, None
        end = last.date()
        start = end - dt.timedelta(days=days - 1)
        narrowed = periods.window_filter(self.flt, start, end)
        return narrowed, (narrowed.start, narrowed.end)

    def sums(self, days: int | None) -> dict[str, int]:
        """The slice cube's counts summed over every slice, of all the data or of the last ``days`` days."""
        found = self._windows.setdefault(days or 0, {})
        if "sums" not in found:
            cube = self.cube if days is None else slice_queries.slice_cube(
                self.store, self.window(days)[0], run_id=self.run_id, sample_modulus=self.sample_modulus)
            found["sums"] = {column: int(cube[column].sum()) for column in slice_queries.COUNT_COLUMNS}
        return found["sums"]

    def agreement(self, metric: str, days: int | None) -> tuple[float, float, float, int] | None:
        """``(value, low, high, items)`` of an agreement metric, of all the data or of the last ``days``
        days; None without a value."""
        flt, _ = self.window(days)
        if metric == "percent_agreement":
            found = self.overview if days is None else overview.overview_summary(self.store, flt)
            if found.percent_agreement is None:
                return None
            return found.percent_agreement, found.pa_ci_low, found.pa_ci_high, found.agreement_items
        if days is None:
            estimate = self.headline.overall.get(metric)
        else:
            counts = agreement_queries.label_counts(self.store, flt, sample_modulus=self.sample_modulus)
            estimate = None if counts.empty else agreement.agreement_estimates(
                counts, metrics=(metric,), n_boot=agreement_report.N_BOOT, random_state=0)[metric]
        if estimate is None or math.isnan(estimate.value):
            return None
        return estimate.value, estimate.ci_low, estimate.ci_high, estimate.n_items


def evaluate(
    store: Store,
    config: AlertConfig,
    flt: EventFilter | None = None,
    *,
    sample_modulus: int = 1,
    evidence: Evidence | None = None,
) -> AlertReport:
    """Evaluate every rule of ``config`` on the filtered events of ``store``.

    Parameters
    ----------
    store : Store
    config : AlertConfig
        From ``alert_config`` or ``load_alerts``.
    flt : EventFilter or None
        None: the whole store (``check``, ``summary``).
    sample_modulus : int
        See ``Evidence``.
    evidence : Evidence or None
        Results already computed for the same store and filter (``summary`` shares its own).

    Returns
    -------
    AlertReport

    Examples
    --------
    >>> report = evaluate(Store(":memory:"), AlertConfig(DEFAULT_RULES))
    >>> {e.status for e in report.evaluations}
    {'no data'}
    """
    evidence = evidence or Evidence(store, flt, sample_modulus=sample_modulus)
    found = []
    for rule in config.rules:
        if evidence.overview.events == 0:
            found.append(Evaluation(rule, NO_DATA, missing=NO_EVENTS))
        else:
            found.append(_RULES[rule.kind](rule, evidence))
    return AlertReport(config, tuple(found), evidence.overview.last_at, evidence.sample_modulus, evidence.flt)


def _single(rule: AlertRule, found: tuple[float, float, float, int] | None, window: tuple | None, *,
            below: bool, missing: str) -> Evaluation:
    """Status of a single value against ``rule.threshold``: ``below`` rules breach under it, the others
    above it (see the module docstring)."""
    if found is None:
        return Evaluation(rule, NO_DATA, window=window, missing=missing)
    value, low, high, n = float(found[0]), _float(found[1]), _float(found[2]), int(found[3])
    has_interval = low is not None and high is not None
    if rule.test == "interval" and not has_interval:
        return Evaluation(rule, NO_DATA, value, low, high, n, window=window, missing=NO_INTERVAL)
    t = rule.threshold
    # past(x): x lies on the breaching side of the threshold
    past = (lambda x: x < t) if below else (lambda x: x > t)
    near, far = (low, high) if below else (high, low)  # the bound nearest the breaching side, the other
    if rule.test == "interval":
        status = BREACHED if past(far) else BORDERLINE if past(near) else OK
    else:
        status = BREACHED if past(value) else BORDERLINE if has_interval and past(near) else OK
    return Evaluation(rule, status, value, low, high, n, window=window)


def _agreement_below(rule: AlertRule, evidence: Evidence) -> Evaluation:
    found = evidence.agreement(rule.metric, rule.days)
    return _single(rule, found, evidence.window(rule.days)[1], below=True, missing=NO_VALUE)


def _share(k: int, n: int) -> tuple[float, float, float, int] | None:
    if n == 0:
        return None
    low, high = wilson_interval(k, n)
    return k / n, low, high, n


def _suspect_rate_above(rule: AlertRule, evidence: Evidence) -> Evaluation:
    window = evidence.window(rule.days)[1]
    if evidence.run_id is None:
        return Evaluation(rule, NO_DATA, window=window, missing=NO_RUN)
    sums = evidence.sums(rule.days)
    return _single(rule, _share(sums["flagged"], sums["scored"]), window, below=False, missing=NOT_SCORED)


def _gold_accuracy_below(rule: AlertRule, evidence: Evidence) -> Evaluation:
    sums = evidence.sums(rule.days)
    found = _share(sums["gold_items"] - sums["gold_errors"], sums["gold_items"])
    return _single(rule, found, evidence.window(rule.days)[1], below=True, missing=NO_GOLD)


def _slice_noise_above(rule: AlertRule, evidence: Evidence) -> Evaluation:
    if rule.metric == "suspect" and evidence.run_id is None:
        return Evaluation(rule, NO_DATA, missing=NO_RUN)
    cube = evidence.cube
    flt = evidence.flt
    if flt.attribute and flt.attribute_value is not None:
        cube = slices.without_attribute(cube, flt.attribute)
    table = slices.slice_noise_table(cube, metric=rule.metric, pairs=rule.pairs, min_items=rule.min_items)
    tested = table[table["status"] == slices.TESTED].reset_index(drop=True)
    if tested.empty:
        return Evaluation(rule, NO_DATA, n=0, missing=NO_SLICE)
    n, x = tested["n"].to_numpy(float), tested["errors"].to_numpy(float)
    p = stats.binom.sf(x - 1, n, rule.threshold)
    q = bh_qvalues(p, np.ones(len(p), dtype=bool), rule.fdr)
    hits = [
        Hit(row.slice, bool(qi <= rule.fdr), row.noise_rate, row.ci_low, row.ci_high, int(row.n), float(pi),
            float(qi))
        for row, pi, qi in zip(tested.itertuples(index=False), p, q, strict=True)
        if qi <= rule.fdr or row.noise_rate > rule.threshold
    ]
    hits.sort(key=lambda h: (not h.breached, h.q_value, -h.value))
    status = BREACHED if any(h.breached for h in hits) else BORDERLINE if hits else OK
    return Evaluation(rule, status, n=len(tested), hits=tuple(hits))


#: Which way each quality series worsens (+1: up, −1: down).
_WORSE = {"agreement": -1, "majority": -1, "gold": -1, "suspects": 1}


def _change_point(rule: AlertRule, evidence: Evidence) -> Evaluation:
    findings, last = evidence.drift, evidence.overview.last_at
    if findings is None or last is None:
        return Evaluation(rule, NO_DATA, missing=NO_EVENTS)
    since = last.date() - dt.timedelta(days=rule.within_days)
    keys = dict(zip(findings.series["series"], findings.series["key"], strict=True))
    followed = [key for key in findings.series["key"] if _followed(key, rule.series)]
    hits = []
    for cp in findings.change_points:
        key = keys.get(cp.series)
        if key is None or not _followed(key, rule.series):
            continue
        for row in cp.changes.itertuples(index=False):
            when = pd.Timestamp(row.window).date()
            worse = rule.direction == "any" or np.sign(row.change) == _WORSE.get(key, 0)
            if when >= since and worse:
                hits.append(Hit(cp.series, True, row.change, row.change_low, row.change_high,
                                p_value=row.p_value, before=row.before, after=row.after, when=when))
    hits.sort(key=lambda h: (h.when, h.subject), reverse=True)
    status = BREACHED if hits else OK if followed else NO_DATA
    return Evaluation(rule, status, n=len(followed), hits=tuple(hits), window=(since, last.date()),
                      missing=None if followed else NO_SERIES)


def _followed(key: str, series: Sequence[str]) -> bool:
    return key in series or ("labels" in series and key not in QUALITY_SERIES)


def _annotator_flag(rule: AlertRule, evidence: Evidence) -> Evaluation:
    table = evidence.reliability
    tested = table[table["loo_items"] >= _ANNOTATOR_MIN_ITEMS] if len(table) else table
    if tested.empty:
        return Evaluation(rule, NO_DATA, n=0, missing=NO_ANNOTATOR)
    wanted = set(rule.flags)
    flagged = [row for row in tested.itertuples(index=False) if wanted & set(row.flags)]
    breached = len(flagged) >= rule.min_annotators
    hits = tuple(
        Hit(str(row.annotator_id), breached, row.loo_agreement, row.loo_low, row.loo_high, int(row.loo_items),
            q_value=row.change_q if "declining" in row.flags else None, before=row.first_half,
            after=row.second_half,
            cohort=None if pd.isna(row.cohort) else str(row.cohort),
            flags=tuple(f for f in row.flags if f in wanted))
        for row in flagged
    )
    status = BREACHED if breached else BORDERLINE if flagged else OK
    return Evaluation(rule, status, n=len(tested), hits=hits)


#: ``annotator_table``'s default ``min_items``: annotators with fewer comparable ratings are not tested.
_ANNOTATOR_MIN_ITEMS = 20

_RULES = {
    "agreement_below": _agreement_below,
    "suspect_rate_above": _suspect_rate_above,
    "gold_accuracy_below": _gold_accuracy_below,
    "slice_noise_above": _slice_noise_above,
    "change_point": _change_point,
    "annotator_flag": _annotator_flag,
}


def _float(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def _json(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
