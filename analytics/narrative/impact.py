"""The impact of a remediation in words a stakeholder repeats: the verdict first, then what to watch.

Reads an ``analytics.impact.ab.ImpactResult`` and computes nothing new. A difference is called a rise or a
fall only when its paired interval excludes zero; otherwise the sentence says the data show no change the
interval can tell from zero, with the interval.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["METRIC_WORDS", "effect", "verdict"]

METRIC_WORDS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "ece": "calibration error (ECE)"}


def _signed(x: float) -> str:
    return f"{x:+.3f}" if abs(x) < 0.1 else f"{x:+.2f}"


def _p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "; McNemar p < 0.001" if p < 0.001 else f"; McNemar p = {p:.3f}"


def effect(row: dict | pd.Series, *, where: str, higher_is_better: bool = True) -> str:
    """One metric's before → after with its interval, e.g. "accuracy of the labels on the 509 gold items
    rose from 0.83 to 0.95 (+0.11, 95% CI +0.09 to +0.14; McNemar p < 0.001)"."""
    name = METRIC_WORDS.get(row["metric"], row["metric"])
    low, high = row["ci_low"], row["ci_high"]
    ci = f"95% CI {_signed(low)} to {_signed(high)}"
    p = _p(row.get("p_value"))
    if low > 0 or high < 0:
        up = low > 0
        move = "rose" if up else "fell"
        good = up == higher_is_better
        return (
            f"{name} {where} {move} from {row['a']:.2f} to {row['b']:.2f} ({_signed(row['delta'])}, {ci}"
            f"{p}){'' if good else ' — worse'}"
        )
    return (
        f"{name} {where} went from {row['a']:.2f} to {row['b']:.2f}, a change the data cannot tell from "
        f"zero ({_signed(row['delta'])}, {ci}{p})"
    )


def verdict(result: object) -> list[str]:
    """The verdict in sentences: label quality, model quality, the subgroups that gained most or got worse,
    and what the held-out set left out."""
    lines = []
    s = result.summary
    arms = f"{result.arm_a} → {result.arm_b}"
    if not result.label_quality.empty:
        row = result.label_quality.iloc[0]
        lines.append(
            f"From {arms}, the "
            + effect(row, where=f"of the labels on the {int(row['n']):,} gold items")
            + "."
        )
        lines += _slices(result.label_slices, "label accuracy")
    if not result.model_quality.empty:
        rows = result.model_quality.set_index("metric")
        held = f"on the {int(rows.loc['accuracy', 'n']):,} held-out items"
        trained = "trained on each version's labels" if s.get("trained") else "imported"
        head = rows.loc["macro_f1"] if "macro_f1" in rows.index else rows.loc["accuracy"]
        lines.append(
            f"The model {trained}: "
            + effect(
                {**head.to_dict(), "metric": head.name, "p_value": rows.loc["accuracy"].get("p_value")},
                where=held,
            )
            + "."
        )
        if "ece" in rows.index:
            ece = rows.loc["ece"]
            lines.append(
                "Its " + effect({**ece.to_dict(), "metric": "ece"}, where=held, higher_is_better=False) + "."
            )
        lines += _slices(result.subgroups, "model accuracy")
    elif s.get("why_no_model"):
        lines.append(f"No model was compared: {s['why_no_model']}.")
    if s.get("held_out_touched"):
        lines.append(
            f"{s['held_out_touched']:,} evaluation items the remediation touched were left out of the "
            "held-out set, so the model is never graded on labels the remediation produced."
        )
    return lines


def _slices(table: pd.DataFrame, what: str) -> list[str]:
    """The subgroup that gained most (when its interval excludes zero) and every one that got worse."""
    if table is None or table.empty:
        return []
    lines = []
    gained = table[table["ci_low"] > 0].sort_values("delta", ascending=False)
    if len(gained):
        top = gained.iloc[0]
        lines.append(
            f"The {top['key']} = {top['value']} slice gained most in {what} ({top['a']:.2f} → "
            f"{top['b']:.2f}, {_signed(top['delta'])}, 95% CI {_signed(top['ci_low'])} to "
            f"{_signed(top['ci_high'])})."
        )
    worse = table[table["got_worse"].fillna(False).astype(bool)]
    if len(worse):
        names = ", ".join(f"{r.key} = {r.value} ({_signed(r.delta)})" for r in worse.itertuples())
        lines.append(f"Warning: {what} got worse in {names}.")
    else:
        lines.append(f"No subgroup got worse in {what}.")
    return lines
