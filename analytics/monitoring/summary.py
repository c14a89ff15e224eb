"""Every current finding of a store as one JSON-ready dict, as ``python -m analytics summary --json`` prints.

The top-level keys are a public contract (docs/ARCHITECTURE.md): ``agreement``, ``annotators``, ``drift``,
``slices``, ``suspects``, ``impact`` and ``alerts``, plus ``store``. Keys may be added, never renamed.
Sections whose analytics have not landed yet hold their empty shape (no A/B); ``drift`` holds the weekly
change points and the findings in words; ``slices`` ranks the single-attribute slices by disagreement;
``suspects`` is the latest detection run's on the items in view (``count``: likely mislabeled,
``no_consensus``: needing adjudication, ``precision`` and ``recall`` on gold items), ``{"run_id": None,
"count": 0}`` without one; ``alerts`` holds the alert rules in force (``analytics.monitoring.alerts``)
evaluated on the same numbers (``alerts_section``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from analytics.core.schema import EventFilter
from analytics.monitoring import alerts, overview
from analytics.store import Store
from analytics.store import agreement as agreement_queries
from analytics.store import summary as queries


def store_summary(store: Store, flt: EventFilter | None = None,
                  config: alerts.AlertConfig | None = None) -> dict[str, Any]:
    """Build the summary of ``store``.

    Parameters
    ----------
    store : Store
        An open store.
    flt : EventFilter or None
        Restrict the agreement figures to these events; counts always cover the whole store.
    config : AlertConfig or None
        The alert rules to evaluate; None reads the store's (``alerts.alert_config``), and a broken alerts
        file then shows as ``alerts.error`` instead of failing the summary.

    Returns
    -------
    dict
        JSON-serialisable (timestamps as ISO-8601 strings, missing numbers as None)::

            {"store": {"path", "schema_version", "counts": {table: rows}, "events", "items", "annotators",
                       "labels", "first_at", "last_at",
                       "items_count": {"estimate", "method", "ci_low", "ci_high"}},
             "agreement": {"percent_agreement" | "krippendorff_alpha" | "fleiss_kappa" | "gwet_ac1":
                               {"value", "ci_low", "ci_high", "n_items", "method"} plus, for the last
                               three, "n_pairable" (items rated 2+ times), "resampled" ("items": BCa over
                               items, the annotators fixed) and "note" (why a value or interval is missing)},
             "annotators": [{"annotator_id", "cohort", "events", "items", "flags": [...],
                             "loo_agreement", "loo_ci_low", "loo_ci_high", "loo_items", "gold_accuracy",
                             "gold_n", "retest_consistency", "retest_n", "change"}, ...],
             "drift": {"change_points": [{"series", "date", "before", "after", "change", "change_low",
                                          "change_high", "p_value"}, ...], "grain", "min_span_days",
                       "labels_followed": [...], "other_labels", "what_changed": [...],
                       "guidelines": [{"version", "effective_at", "summary"}, ...]},
             "slices": [...], "suspects": {"run_id": None, "count": 0}, "impact": {},
             "alerts": {"source", "defaults", "breached": [ids], "borderline": [ids], "no_data": [ids],
                        "headline", "rules": [...], "error"}}  # see alerts_section

    Examples
    --------
    >>> store_summary(Store(":memory:"))["agreement"]["percent_agreement"]["value"] is None
    True
    """
    # The item count is exact here: one more scan (about a second at 1e7 events) is cheap for a command.
    # Evidence computes each result once, for the sections below and the alert rules alike.
    evidence = alerts.Evidence(store, flt)
    totals = evidence.overview
    head = evidence.headline
    reliability = evidence.reliability
    guidelines = agreement_queries.guideline_changes(store)
    return {
        "store": {
            "path": store.path,
            "schema_version": store.schema_version(),
            "counts": queries.table_counts(store),
            "events": totals.events,
            "items": totals.items,
            "annotators": totals.annotators,
            "labels": totals.labels,
            "first_at": _iso(totals.first_at),
            "last_at": _iso(totals.last_at),
            "items_count": _item_count(totals.item_count),
        },
        "agreement": {
            "percent_agreement": {
                "value": totals.percent_agreement,
                "ci_low": totals.pa_ci_low,
                "ci_high": totals.pa_ci_high,
                "n_items": totals.agreement_items,
                "method": "Wilson score interval on the effective number of items",
                "sample": _sample(totals.agreement_sample_rate),
            },
            **{
                metric: {
                    "value": _number(estimate.value), "ci_low": _number(estimate.ci_low),
                    "ci_high": _number(estimate.ci_high), "n_items": estimate.n_items,
                    "n_pairable": estimate.n_pairable, "method": estimate.method,
                    "resampled": estimate.resampled or None, "note": estimate.note or None,
                }
                for metric, estimate in head.overall.items()
            },
        },
        "annotators": [
            {
                "annotator_id": row.annotator_id, "cohort": row.cohort, "events": int(row.events),
                "items": int(row.items), "flags": list(row.flags),
                "loo_agreement": _number(row.loo_agreement), "loo_ci_low": _number(row.loo_low),
                "loo_ci_high": _number(row.loo_high), "loo_items": int(row.loo_items),
                "gold_accuracy": _number(row.gold_accuracy), "gold_n": int(row.gold_n),
                "retest_consistency": _number(row.retest_consistency), "retest_n": int(row.retest_n),
                "change": _number(row.change),
            }
            for row in reliability.itertuples(index=False)
        ],
        "drift": {
            **_drift(evidence),
            "guidelines": [
                {"version": row.version, "effective_at": _iso(row.effective_at), "summary": row.summary}
                for row in guidelines.itertuples(index=False)
            ],
        },
        "slices": _slices(evidence),
        "suspects": _suspects(store, flt),
        "impact": _impact(store),
        "alerts": _alerts(store, evidence, config),
    }


def alerts_section(report: alerts.AlertReport) -> dict[str, Any]:
    """An evaluated set of alert rules as JSON (``summary --json``'s ``alerts``, ``check --json``).

    Returns
    -------
    dict
        ``source`` (the alerts file, None for the built-in defaults), ``defaults`` (bool), ``breached``,
        ``borderline``, ``no_data`` (the ids of the rules with that status), ``headline`` and
        ``source_words`` (in words), ``rules``: one object per rule in file order: ``id, kind,
        description, rule`` (the rule in words), ``params`` (its keys as the file spells them, defaults
        filled in), ``status`` (``breached``, ``borderline``, ``ok``, ``no data``), ``message`` (what it
        found, in words), ``value, ci_low, ci_high, n`` (the single value of agreement, suspect-rate and
        gold rules; ``n`` counts what was tested otherwise), ``window`` (``[start, end]`` dates or None),
        ``missing`` (why not evaluated), ``hits`` (the slices, annotators or change points behind the
        status: ``analytics.monitoring.alerts.Hit.to_dict``); and ``error`` (None).
    """
    from analytics.narrative import alerts as words

    config = report.config
    return {
        "source": config.source, "defaults": config.defaults,
        "breached": [e.rule.id for e in report.with_status(alerts.BREACHED)],
        "borderline": [e.rule.id for e in report.with_status(alerts.BORDERLINE)],
        "no_data": [e.rule.id for e in report.with_status(alerts.NO_DATA)],
        "headline": words.headline(report), "source_words": words.source_words(config),
        "rules": [
            {"id": e.rule.id, "kind": e.rule.kind, "description": e.rule.description,
             "rule": words.rule_words(e.rule), "params": e.rule.params(), "status": e.status,
             "message": words.finding(e), "value": _number(e.value), "ci_low": _number(e.low),
             "ci_high": _number(e.high), "n": e.n,
             "window": None if e.window is None else [_iso(day) for day in e.window],
             "missing": e.missing, "hits": [hit.to_dict() for hit in e.hits]}
            for e in report.evaluations
        ],
        "error": None,
    }


def _alerts(store: Store, evidence: alerts.Evidence, config: alerts.AlertConfig | None) -> dict[str, Any]:
    """The alert rules evaluated on ``evidence``; a broken alerts file gives ``{"error": message}`` and the
    empty shape, so the rest of the summary still prints."""
    if config is None:
        try:
            config = alerts.alert_config(store.path)
        except alerts.AlertConfigError as exc:
            return {"source": None, "defaults": False, "breached": [], "borderline": [], "no_data": [],
                    "headline": None, "source_words": None, "rules": [], "error": str(exc)}
    return alerts_section(alerts.evaluate(store, config, evidence.flt, evidence=evidence))


def _drift(evidence: alerts.Evidence) -> dict[str, Any]:
    """Change points of every quality series and followed label share, on the Drift page's weekly
    windows, and the findings in words. However many labels the store has, the shares of the
    ``drift.TOP_LABELS`` most frequent are followed one by one and the rest as one share."""
    from analytics.narrative import drift as drift_words

    findings = evidence.drift
    if findings is None:
        return {"change_points": [], "what_changed": []}
    points = [
        {"series": cp.series, "date": _iso(row.window), "before": _number(row.before),
         "after": _number(row.after),
         "change": _number(row.change), "change_low": _number(row.change_low),
         "change_high": _number(row.change_high), "p_value": _number(row.p_value)}
        for cp in findings.change_points for row in cp.changes.itertuples(index=False)
    ]
    return {"change_points": sorted(points, key=lambda p: p["date"] or ""), "grain": findings.grain,
            "min_span_days": findings.min_span_days, "labels_followed": list(findings.labels),
            "other_labels": findings.other_labels, "what_changed": drift_words.what_changed(findings)}


def _slices(evidence: alerts.Evidence) -> list[dict[str, Any]]:
    """Every tested single-attribute slice by disagreement rate, noisiest first, with CI and BH q-value."""
    from analytics.monitoring import slices

    table = slices.slice_noise_table(evidence.cube, metric="disagreement")
    tested = table[table["status"] == slices.TESTED]
    return [
        {"attribute": row.attribute, "value": row.value, "metric": "disagreement", "items": int(row.n),
         "noise_rate": _number(row.noise_rate), "ci_low": _number(row.ci_low),
         "ci_high": _number(row.ci_high), "rest_rate": _number(row.rest_rate),
         "q_value": _number(row.q_value), "significant": bool(row.significant)}
        for row in tested.itertuples(index=False)
    ]


def _suspects(store: Store, flt: EventFilter | None, top: int = 10) -> dict[str, Any]:
    """The latest detection run on the items in view under ``flt``: how many look mislabeled, how many
    need adjudication, the precision and recall of its flags on gold items (Wilson intervals), and its
    most suspicious items with evidence (score: log10 odds against the given label)."""
    from analytics import detection as engine
    from analytics.detection import suspects
    from analytics.store import detection

    runs = detection.runs(store)
    if runs.empty:
        return {"run_id": None, "count": 0}
    run = runs.iloc[0]
    view = suspects.run_view(detection.view_counts(store, run["run_id"], flt))
    page, _ = detection.suspects_page(store, run["run_id"], flt=flt, limit=top, with_total=False)
    params = detection.run_params(store, run["run_id"])

    def share(found: suspects.Proportion) -> dict[str, Any]:
        return {"value": _number(found.value), "ci_low": _number(found.low), "ci_high": _number(found.high),
                "k": found.k, "n": found.n, "method": "Wilson score interval"}

    return {
        "run_id": run["run_id"], "count": view.by_status[engine.MISLABELED],
        "no_consensus": view.by_status[engine.NO_CONSENSUS], "items": view.items,
        "run_items": int(run["items"]), "created_at": _iso(run["created_at"]),
        "model": (params.get("model") or {}).get("verdict"), "score": params.get("score", "probability"),
        "clusters": len(view.clusters), "precision": share(view.precision), "recall": share(view.recall),
        "top": [
            {"item_id": row.item_id, "given_label": row.given_label, "suggested_label": row.suggested_label,
             "score": _number(row.score), "cluster_id": row.cluster_id, "why": row.explanation}
            for row in page.itertuples(index=False)
        ],
    }


def _impact(store: Store) -> dict[str, Any]:
    """The newest before/after analysis (``analytics.impact.ab``) as metric deltas with ``ci_low`` and
    ``ci_high``, overall (``label_quality``, ``model_quality``) and per subgroup (``label_slices``,
    ``subgroups``); empty when none was run."""
    from analytics.impact import ab

    result = ab.latest_result(store)
    if result is None:
        return {}
    keep = ("metric", "key", "value", "label", "a", "b", "delta", "ci_low", "ci_high", "n", "p_value",
            "got_worse")

    def rows(frame: Any) -> list[dict[str, Any]]:
        columns = [c for c in keep if c in frame.columns]
        return [{c: (_number(v) if isinstance(v, float) else v) for c, v in zip(columns, r, strict=True)}
                for r in frame[columns].itertuples(index=False)] if len(frame) else []

    return {"impact_id": result.impact_id, "kind": result.kind, "arm_a": result.arm_a, "arm_b": result.arm_b,
            "created_at": _iso(result.created_at), "held_out": result.summary.get("held_out"),
            "label_quality": rows(result.label_quality), "model_quality": rows(result.model_quality),
            "label_slices": rows(result.label_slices), "subgroups": rows(result.subgroups)}


def _item_count(count: overview.ItemCount) -> dict[str, Any]:
    """How ``store.items`` was counted: ``estimate`` (bool), ``method`` in words and a 95% interval."""
    return {"estimate": count.estimated, "method": count.method, "ci_low": count.low, "ci_high": count.high}


def _sample(rate: float) -> str | None:
    """"1 in m items" when the agreement was computed on an item sample, else None."""
    return None if rate >= 1 else f"1 in {round(1 / rate)} items"


def _number(value: Any) -> float | None:
    """A float for JSON, None for a missing or undefined number."""
    return None if value is None or value != value else float(value)


def _iso(value: Any) -> str | None:
    if value is None or value != value:  # None or NaT
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)
