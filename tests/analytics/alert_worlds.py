"""Small labeled worlds with a known story, written through the import pipeline, for the alert rules, the
label-noise tiles, ``check`` and the Overview page.

Sixteen weeks from Monday 2024-01-01, 40 items a week, each labeled by 3 of 6 annotators among four labels.
A quarter of the items come from ``source = fax``, labeled less accurately; every other item has a gold
label (its truth). ``late_accuracy`` changes the accuracy of every label from week ``change_week`` on, so
agreement steps down (or up) there.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.store import Store
from tests.builders import StoreBuilder

LABELS = ("a", "b", "c", "d")
ANNOTATORS = tuple(f"ann-{k}" for k in range(6))
START = dt.datetime(2024, 1, 1)
WEEKS, PER_WEEK = 16, 40


def world_rows(*, accuracy: float = 0.92, fax_accuracy: float = 0.6, late_accuracy: float | None = None,
               change_week: int = 8, gold: bool = True, attributes: bool = True, fax: str = "fax",
               seed: int = 0) -> dict[str, pd.DataFrame]:
    """The world's ``items``, ``events`` and ``gold`` rows (``truth`` too, for the tests' own checks);
    ``fax`` names the noisier source."""
    rng = np.random.default_rng(seed)
    items, events, golds, truths = [], [], [], []
    for week in range(WEEKS):
        for k in range(PER_WEEK):
            item = f"w{week:02d}-{k:02d}"
            noisy = k % 4 == 0
            truth = LABELS[rng.integers(len(LABELS))]
            items.append({"item_id": item, **({"source": fax if noisy else "scanner"} if attributes else {})})
            truths.append({"item_id": item, "truth": truth, "fax": noisy, "week": week})
            p = fax_accuracy if noisy else accuracy
            if late_accuracy is not None and week >= change_week:
                p = late_accuracy * (fax_accuracy / accuracy if noisy else 1.0)
            when = START + dt.timedelta(weeks=week, days=int(rng.integers(7)), hours=int(rng.integers(24)))
            for annotator in rng.choice(ANNOTATORS, size=3, replace=False):
                if rng.random() < p:
                    label = truth
                else:
                    label = rng.choice([x for x in LABELS if x != truth])
                events.append({"item_id": item, "annotator_id": str(annotator), "label": str(label),
                               "labeled_at": when + dt.timedelta(minutes=int(rng.integers(600)))})
            if gold and k % 2 == 0:
                golds.append({"item_id": item, "label": truth})
    return {"items": pd.DataFrame(items), "events": pd.DataFrame(events), "gold": pd.DataFrame(golds),
            "truth": pd.DataFrame(truths)}


def build_world(path: Path, **options: object) -> dict[str, pd.DataFrame]:
    """Write ``world_rows(**options)`` into a new store at ``path`` (closed again); return the rows."""
    rows = world_rows(**options)
    builder = StoreBuilder(path).events(rows["events"], cohorts=dict.fromkeys(ANNOTATORS, "crowd"))
    if len(rows["items"].columns) > 1:
        builder.items(rows["items"])
    if len(rows["gold"]):
        builder.gold(rows["gold"])
    with builder.build():
        pass
    return rows


def add_run(store: Store, flagged: dict[str, bool], *, run_id: str = "run-1") -> None:
    """A detection run that scored the items of ``flagged`` and flagged those mapped to True (the tables a run
    fills from its computation, written as they are)."""
    from tests.builders import write_raw

    with store.transaction() as cur:
        write_raw(cur, "detection_runs", [{"run_id": run_id, "created_at": dt.datetime(2024, 5, 1),
                                           "created_by": "test", "params": "{}"}])
        write_raw(cur, "suspects", pd.DataFrame({
            "run_id": run_id, "item_id": list(flagged), "flagged": list(flagged.values()),
            "status": ["mislabeled" if f else "ok" for f in flagged.values()],
            "score": 0.0, "rank": range(1, len(flagged) + 1),
        }))
