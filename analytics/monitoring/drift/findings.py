"""All drift findings of a store at once (``drift_findings``): the tests of the other modules run on weekly
windows whatever grain is drawn, the followed labels and confused pairs, and the tables the page and
``summary --json`` show. The findings in words are ``analytics.narrative.drift``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analytics.agreement.coefficients import label_confusion_from_counts
from analytics.core.stats import bh_qvalues
from analytics.monitoring.drift.annotator_trends import AnnotatorDrift, annotator_drift
from analytics.monitoring.drift.change_detection import (
    _CHANGE_COLUMNS,
    ChangePoints,
    _shift_t,
    _window_values,
    change_points,
    fitted_variance,
)
from analytics.monitoring.drift.distribution import shift_table
from analytics.monitoring.drift.guidelines import guideline_comparison
from analytics.monitoring.drift.onboarding import onboarding_effects
from analytics.monitoring.drift.retest import RetestDrift, retest_drift
from analytics.monitoring.drift.series import (
    GRAIN_DAYS,
    _window_end,
    agreement_series,
    rate_series,
    share_series,
)

if TYPE_CHECKING:
    from analytics.store.drift import DriftInputs



#: The grain the tests run at, whatever grain the page draws. A month grain leaves six windows in half a
#: year, too few to tell a change from the way windows vary (on the demo, a 4-point fall of the share of
#: '7' reads p = 0.19 on months and p = 0.002 on weeks), and days add weekday rhythms and windows of a
#: handful of items; tests on one grid tell one story at every grain. Daily views date each change to the
#: day within its week (``drift_findings``'s ``display``).
ANALYSIS_GRAIN = "week"
#: Shortest time a segment between two reported changes covers, in days: a shift that lasts less is an
#: episode, not drift, and a span in time (not in windows) means the same at every grain.
MIN_SEGMENT_DAYS = 28
#: Labels whose share is followed one by one, the most frequent first; the others are followed together
#: as one share, so the work stays bounded however many labels a store has.
TOP_LABELS = 20
#: Quality series whose sampling errors already count items as the unit (``change_points``'s
#: ``design_effect``); the others have their design effect estimated.
QUALITY_DESIGN_EFFECTS = {"agreement": 1.0, "suspects": 1.0}


@dataclasses.dataclass(frozen=True, eq=False)
class DriftFindings:
    """Everything ``drift_findings`` found, for ``what_changed``, the page and ``summary --json``.

    Attributes
    ----------
    grain : str
        Time grain of the windows tested.
    series : DataFrame
        Every series tested for change points: ``key, series, unit, windows, design_effect, between_sd,
        p_value, q_value, changes`` (``between_sd`` = τ̂, in the series' unit).
    change_points : tuple of ChangePoints
        The series with a change (series-level BH q < ``fdr``), plus the pair shares derived from them;
        their ``values`` are the windows of ``display_grain``.
    shift : DataFrame
        ``shift_table`` of the label counts (followed labels and the others pooled) against the baseline.
    guidelines : DataFrame
        ``guideline_comparison``.
    guideline_dates : DataFrame
        ``version, effective_at`` of the versions.
    annotators : AnnotatorDrift
    onboarding : DataFrame
        ``onboarding_effects``.
    retest : RetestDrift or None
        None without re-test pairs.
    fdr : float
    min_change : float
        The smallest change reported (see ``drift_findings``).
    display_grain : str or None
        The grain of the windows drawn (None: ``grain``).
    labels : tuple of str
        The labels whose share was followed one by one.
    other_label : str or None
        The name of the share of all other labels (None when every label was followed).
    other_labels : int
        How many labels that share pools.
    min_span_days : float
        Shortest span of a segment, in days.
    label_counts : DataFrame or None
        The ``window, label, n`` counts tested: the followed labels and ``other_label``.
    """

    grain: str
    series: pd.DataFrame
    change_points: tuple
    shift: pd.DataFrame
    guidelines: pd.DataFrame
    guideline_dates: pd.DataFrame
    annotators: AnnotatorDrift
    onboarding: pd.DataFrame
    retest: RetestDrift | None
    fdr: float
    min_change: float = 0.0
    display_grain: str | None = None
    labels: tuple = ()
    other_label: str | None = None
    other_labels: int = 0
    min_span_days: float = MIN_SEGMENT_DAYS
    label_counts: pd.DataFrame | None = None


def quality_series(inputs: DriftInputs) -> dict[str, tuple[str, pd.DataFrame]]:
    """The quality metrics per window of ``analytics.store.drift.DriftInputs``: key → (words, series)."""
    found = {"agreement": ("percent agreement", agreement_series(inputs.agreement))}
    if len(inputs.annotators):
        found["majority"] = ("agreement with the majority", rate_series(inputs.annotators, "loo_agree",
                                                                         "loo_items"))
        if inputs.annotators["gold_n"].sum() > 0:
            found["gold"] = ("gold accuracy", rate_series(inputs.annotators, "gold_correct", "gold_n"))
    if inputs.suspects is not None and len(inputs.suspects):
        found["suspects"] = ("suspect rate", rate_series(inputs.suspects, "flagged", "items"))
    return found


def top_labels(counts: pd.DataFrame, top: int = TOP_LABELS) -> list[str]:
    """The ``top`` most frequent labels of a ``window, label, n`` table, most frequent first (ties by
    label)."""
    totals = counts.assign(label=counts["label"].astype(str)).groupby("label")["n"].sum()
    frame = totals.reset_index().sort_values(["n", "label"], ascending=[False, True])
    return frame["label"].head(top).tolist()


def other_label(labels: Sequence[str]) -> str:
    """A name for "every other label" that no label in ``labels`` has."""
    taken = {str(label) for label in labels}
    name = "(other labels)"
    while name in taken:
        name = "(" + name + ")"
    return name


def collapse_labels(counts: pd.DataFrame, keep: Sequence[str], other: str) -> pd.DataFrame:
    """``window, label, n`` with every label outside ``keep`` counted as ``other``.

    Examples
    --------
    >>> counts = pd.DataFrame({"window": [1, 1, 1], "label": ["a", "b", "c"], "n": [5, 2, 1]})
    >>> collapse_labels(counts, ["a"], "rest").values.tolist()
    [[1, 'a', 5], [1, 'rest', 3]]
    """
    labels = counts["label"].astype(str)
    frame = counts.assign(label=labels.where(labels.isin(list(keep)), other))
    return frame.groupby(["window", "label"], as_index=False, sort=True)["n"].sum()


def _label_series(counts: pd.DataFrame, labels: Sequence[str], other: str | None, other_count: int,
                  pairs: Sequence[tuple[str, str]]) -> dict[str, tuple]:
    """key → (words, unit, series, design effect) of the label shares and pair shares followed."""
    found = {}
    for label in labels:
        found["share:" + label] = (f"share of '{label}' among all labels", "share",
                                   share_series(counts, label), None)
    if other is not None:
        found["other"] = (f"share of the {other_count:,} less frequent labels together", "share",
                          share_series(counts, other), None)
    for a, b in pairs:
        found[f"pair:{a}|{b}"] = (_pair_words(a, b), "share", share_series(counts, a, among=(a, b)), None)
    return found


def _tested_series(inputs: DriftInputs, counts: pd.DataFrame, labels: Sequence[str], other: str | None,
                   other_count: int, pairs: Sequence[tuple[str, str]]) -> dict[str, tuple]:
    found = {key: (words, "share", frame, QUALITY_DESIGN_EFFECTS.get(key))
             for key, (words, frame) in quality_series(inputs).items()}
    return {**found, **_label_series(counts, labels, other, other_count, pairs)}


def confused_pairs(item_counts: pd.DataFrame, *, top: int = 3,
                   labels: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """The label pairs annotators confuse most, as (label, other) with label > other in sort order.

    Parameters
    ----------
    item_counts : DataFrame with columns ``item_key`` (or ``item_id``), ``label``, ``n``
        A label-count table (``analytics.store.agreement.label_counts``).
    top : int
        How many pairs.
    labels : sequence of str, optional
        Only pairs of these labels (e.g. ``top_labels``): the confusion table is labels × labels.

    Returns
    -------
    list of (str, str)
        Unordered pairs of different labels given to the same items more often than their frequencies
        explain (lift > 1 in ``analytics.agreement.coefficients.label_confusion_from_counts``), most
        coincidences first.
    """
    if item_counts is None or item_counts.empty:
        return []
    if labels is not None:
        item_counts = item_counts[item_counts["label"].astype(str).isin([str(x) for x in labels])]
        if item_counts.empty:
            return []
    table = label_confusion_from_counts(item_counts)
    a, b = table["label_a"].astype(str), table["label_b"].astype(str)
    off = table.assign(a=a, b=b)[(a < b) & (table["lift"] > 1)]
    off = off.sort_values(["pairs", "a", "b"], ascending=[False, True, True]).head(top)
    return [(second, first) for first, second in zip(off["a"], off["b"], strict=True)]


def drift_findings(
    inputs: DriftInputs,
    *,
    display: DriftInputs | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    ds: pd.DataFrame | None = None,
    alpha: float = 0.05,
    fdr: float = 0.05,
    min_change: float = 0.01,
    span: int | None = None,
    min_span_days: float = MIN_SEGMENT_DAYS,
    top: int = TOP_LABELS,
    n_sim: int = 999,
    random_state: int = 0,
) -> DriftFindings:
    """Run every drift analysis on the tables of ``analytics.store.drift.drift_inputs``.

    Parameters
    ----------
    inputs : DriftInputs
        Or any object with the same attributes (``grain, label_counts, agreement, annotators, suspects,
        retest, guidelines`` and optionally ``item_counts``), at the grain the tests run at
        (``ANALYSIS_GRAIN`` on the page and in the summary).
    display : DriftInputs or None
        The same tables at the grain the page draws (``analytics.store.drift.display_inputs``): the
        change points then carry those windows' values, and at a finer grain (days) each change is dated
        within its week by the finer windows. None: draw the tested windows.
    pairs : sequence of (str, str) or None
        Pairs (label, other) whose share of label among label/other labels is followed too; None takes the
        three pairs annotators confuse most among the followed labels (``confused_pairs`` of
        ``inputs.item_counts``), ``()`` none. Pairs are also formed from two class shares that change in
        opposite directions within a week.
    ds : DataFrame or None
        ``ds_accuracy_windows`` for the annotators' Dawid–Skene accuracy.
    alpha : float
        Level of each change-point test within a series.
    fdr : float
        Benjamini–Hochberg rate of every family: series with a change, windows with a shifted
        distribution, guideline rows, annotators, onboarding comparisons.
    min_change : float
        Smallest change (in the series' unit, 0.01 = one point of a share) worth reporting: at millions of
        labels a wobble of a tenth of a point is significant and means nothing. ``what_changed`` applies
        it to the guideline comparisons too.
    span : int or None
        Windows each side of a guideline change to compare (None: the whole time each version was in force).
    min_span_days : float
        Shortest segment between changes, in days (``MIN_SEGMENT_DAYS``).
    top : int
        Labels whose share is followed one by one (``TOP_LABELS``); the rest are followed as one share.
    n_sim : int
        Simulated null series per change-point test.
    random_state : int
        Seed of the simulations.

    Returns
    -------
    DriftFindings

    Notes
    -----
    The series tested: percent agreement, agreement with the majority, gold accuracy and suspect rate (when
    available), the share of each of the ``top`` most frequent labels, the share of all other labels
    together, and the pair shares. At most ``top`` + 8 series are tested, however many labels the store
    has. Each series' test of "no change at all" gives a p-value; BH across series keeps the false
    discovery rate of "series with a change" at ``fdr``. Within a kept series, further changes come from
    binary segmentation at ``alpha``, segments covering at least ``min_span_days``. The label distribution
    is compared window by window with a baseline of the first ``min_span_days`` (``shift_table``), the
    labels beyond the ``top`` pooled.
    """
    followed = top_labels(inputs.label_counts, top)
    other = other_label(inputs.label_counts["label"])
    other_count = int(inputs.label_counts["label"].astype(str).nunique()) - len(followed)
    counts = collapse_labels(inputs.label_counts, followed, other)
    if pairs is None:
        pairs = confused_pairs(getattr(inputs, "item_counts", None), labels=followed)
    pairs = [(str(a), str(b)) for a, b in pairs]
    series = _tested_series(inputs, counts, followed, other if other_count else None, other_count, pairs)
    options = {"alpha": alpha, "min_change": min_change, "n_sim": n_sim, "min_size": 1,
               "min_span_days": min_span_days, "grain": inputs.grain, "random_state": random_state}
    results = {key: change_points(frame, name=words, unit=unit, design_effect=effect, **options)
               for key, (words, unit, frame, effect) in series.items()}
    keys = list(results)
    p = np.array([results[k].p_value for k in keys], dtype=float)
    q = bh_qvalues(np.nan_to_num(p, nan=1.0), np.isfinite(p), fdr) if keys else np.zeros(0)
    kept = {k for k, qk in zip(keys, q, strict=True) if qk < fdr and len(results[k].changes)}
    asked = {frozenset(pair) for pair in pairs}
    found_pairs = _auto_pairs(results, kept, inputs.grain, asked)
    for key, (words, _, frame, _) in _label_series(counts, (), None, 0, found_pairs).items():
        result = change_points(frame, name=words, unit="share", **options)
        if len(result.changes) and result.p_value < alpha:
            series[key] = (words, "share", frame, None)
            results[key] = result
            keys.append(key)
            p, q = np.append(p, result.p_value), np.append(q, np.nan)
            kept.add(key)
    table = pd.DataFrame({
        "key": keys, "series": [results[k].series for k in keys], "unit": [results[k].unit for k in keys],
        "windows": [len(results[k].values) for k in keys],
        "design_effect": [results[k].design_effect for k in keys],
        "between_sd": [np.sqrt(results[k].between_variance) for k in keys], "p_value": p, "q_value": q,
        "changes": [len(results[k].changes) if k in kept else 0 for k in keys],
    })
    shown = [results[k] for k in keys if k in kept]
    if display is not None and display.grain != inputs.grain:
        shown = _redraw(shown, [k for k in keys if k in kept], series, display, followed,
                        other if other_count else None, other_count, pairs + found_pairs, inputs.grain)
    quality = {words: frame for key, (words, _, frame, _) in series.items()
               if not key.startswith(("share:", "pair:")) and key != "other"}
    effects = {words: effect for key, (words, _, _, effect) in series.items()}
    annotators = annotator_drift(inputs.annotators, ds=ds, fdr=fdr)
    retest = retest_drift(inputs.retest) if len(inputs.retest) else None
    return DriftFindings(
        grain=inputs.grain, series=table, change_points=tuple(shown),
        shift=shift_table(counts, grain=inputs.grain, baseline_days=min_span_days, fdr=fdr),
        guidelines=guideline_comparison(inputs.guidelines, series=quality, label_counts=counts,
                                        grain=inputs.grain, span=span, design_effects=effects, fdr=fdr),
        guideline_dates=inputs.guidelines[["version", "effective_at"]].copy(),
        annotators=annotators, onboarding=onboarding_effects(inputs.annotators, fdr=fdr),
        retest=retest, fdr=fdr, min_change=min_change,
        display_grain=display.grain if display is not None else inputs.grain, labels=tuple(followed),
        other_label=other if other_count else None, other_labels=max(other_count, 0),
        min_span_days=min_span_days, label_counts=counts,
    )


def changes_table(findings: DriftFindings) -> pd.DataFrame:
    """Every change reported, one row each: ``series, unit`` and the columns of ``ChangePoints.changes``,
    by date."""
    frames = [cp.changes.assign(series=cp.series, unit=cp.unit) for cp in findings.change_points]
    columns = ["series", "unit", *_CHANGE_COLUMNS]
    if not frames:
        return pd.DataFrame({c: [] for c in columns})
    table = pd.concat(frames, ignore_index=True)[columns]
    return table.sort_values(["window", "series"], ignore_index=True)


def declared_shift(findings: DriftFindings, expected: pd.Series) -> pd.DataFrame:
    """``shift_table`` of the tested counts against a declared distribution, the declared shares of the
    labels not followed one by one pooled into ``findings.other_label`` as the counts are."""
    counts = findings.label_counts
    if findings.other_label is not None:
        shares = pd.Series(expected, dtype=float)
        keep = shares.index.astype(str).isin(findings.labels)
        expected = pd.concat([shares[keep], pd.Series({findings.other_label: shares[~keep].sum()})])
    return shift_table(counts, expected=expected, grain=findings.grain, fdr=findings.fdr)


def _redraw(results: list[ChangePoints], keys: list[str], series: dict[str, tuple], display: DriftInputs,
            followed: Sequence[str], other: str | None, other_count: int, pairs: Sequence[tuple[str, str]],
            grain: str) -> list[ChangePoints]:
    """The change points with the windows of ``display`` as values and, on finer windows, each change
    dated within its week."""
    counts = collapse_labels(display.label_counts, followed, other or other_label(followed))
    fine = {key: (frame, effect) for key, (_, _, frame, effect) in
            _tested_series(display, counts, followed, other, other_count, pairs).items()}
    finer = GRAIN_DAYS[display.grain] < GRAIN_DAYS[grain]
    drawn = []
    for key, result in zip(keys, results, strict=True):
        frame, effect = fine.get(key, (None, series[key][3]))
        if frame is None or frame.empty:
            drawn.append(dataclasses.replace(result, values=result.values.iloc[:0]))
            continue
        if finer:
            result = _refine(result, frame, design_effect=effect, grain=grain)
        drawn.append(dataclasses.replace(result, values=_window_values(frame.sort_values("window"), "value")))
    return drawn


def _refine(result: ChangePoints, fine: pd.DataFrame, *, design_effect: float | None,
            grain: str) -> ChangePoints:
    """``result`` with each change dated by the finer windows of ``fine``: the split, within the window
    before the change and the window of it, with the largest studentised step between the change's two
    neighbouring segments (the finer windows' variances fitted as in ``change_points``). Sizes, intervals
    and p-values stay those of the tested windows."""
    fine = fine[np.isfinite(fine["value"].to_numpy(float))].sort_values("window", ignore_index=True)
    if result.changes.empty or len(fine) < 3:
        return result
    var = np.maximum(fitted_variance(fine, design_effect=design_effect), 1e-300)
    y = fine["value"].to_numpy(float)
    when = pd.to_datetime(fine["window"]).to_numpy()
    tested = pd.to_datetime(result.values["window"]).tolist()
    changes, segments = result.changes.copy(), result.segments.copy()
    for i, k in enumerate(changes["index"].astype(int)):
        low = np.datetime64(pd.Timestamp(segments["start"].iloc[i]))
        high = np.datetime64(_window_end(pd.Timestamp(segments["end"].iloc[i + 1]), grain))
        inside = np.flatnonzero((when >= low) & (when < high))
        earliest = np.datetime64(tested[k - 1]) if k >= 1 else low
        latest = np.datetime64(_window_end(tested[k], grain))
        splits = np.array([j for j, at in enumerate(when[inside]) if j >= 1 and earliest <= at < latest])
        if len(inside) < 3 or not len(splits):
            continue
        t, _ = _shift_t(y[None, inside], var[None, inside], splits)
        j = inside[splits[int(np.argmax(t[0]))]]
        changes.loc[changes.index[i], "window"] = pd.Timestamp(when[j])
        segments.loc[segments.index[i], "end"] = pd.Timestamp(when[j - 1])
        segments.loc[segments.index[i + 1], "start"] = pd.Timestamp(when[j])
    return dataclasses.replace(result, changes=changes, segments=segments)


def _pair_words(label: str, other: str) -> str:
    first, second = sorted((str(label), str(other)))
    return f"share of '{label}' among '{first}'/'{second}' labels"


def _auto_pairs(results: dict[str, ChangePoints], kept: set[str], grain: str,
                asked: set[frozenset[str]]) -> list[tuple[str, str]]:
    """Pairs (falling label, rising label) of class shares that changed within a week of each other."""
    tolerance = pd.Timedelta(days=max(GRAIN_DAYS[grain], 7))
    moves = []
    for key in kept:
        if key.startswith("share:"):
            for row in results[key].changes.itertuples():
                moves.append((key[len("share:"):], pd.Timestamp(row.window), row.change))
    found = []
    for a, when_a, change_a in sorted(moves):
        for b, when_b, change_b in sorted(moves):
            pair = frozenset((a, b))
            if change_a < 0 < change_b and abs(when_a - when_b) <= tolerance and pair not in asked:
                asked.add(pair)
                found.append((a, b))
    return found
