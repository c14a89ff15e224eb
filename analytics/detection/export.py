"""A detection run's items exported: as a table (CSV, Parquet, JSON Lines; ``analytics.core.exports``) and in
cleanlab's form (``.npz``), so a team can go on in cleanlab with exactly what the run's confident learning
saw.

**cleanlab's form.** ``cleanlab.filter.find_label_issues(labels, pred_probs)`` takes ``labels``, an
integer array of shape (N,) with values in 0 … K − 1, and ``pred_probs``, an (N, K) array of out-of-sample
predicted probabilities whose column k is class k. The ``.npz`` (``numpy.savez_compressed``; it loads with
``numpy.load`` and needs no pickle) holds, under these keys:

============== ============== =========================================================================
key            dtype, shape   what
============== ============== =========================================================================
``labels``     int64 (N,)     each item's label as the run held it, as an index into ``classes``: the
                              given label (a strict majority of its ratings) where the item has a
                              consensus, else the Dawid–Skene label of its annotators
``pred_probs`` float64 (N, K) the run's model's out-of-sample probabilities (cross-validated on the
                              items' features, or the imported predictions), rows summing to 1,
                              column k the probability of ``classes[k]``
``item_ids``   str (N,)       the item of each row, to join the arrays back
``classes``    str (K,)       the run's classes in code order (``detection_runs.params['classes']``)
``consensus``  bool (N,)      whether ``labels`` is a given label (False: the item had no consensus;
                              the run keeps cleanlab's flags only where this is True)
``run_id``     str ()         the run
============== ============== =========================================================================

The rows are the items the model had an opinion on (every item with features, or every item the imported
predictions scored), in the order the run's confident learning saw them, so
``find_label_issues(labels, pred_probs, filter_by=params['filter_by'])`` flags what the run flagged
(``cleanlab_issue``) on the items with a consensus. A run without a model opinion, or stored before
LabelWatch kept these arrays (schema version 10), cannot be exported in this form.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.core import exports
from analytics.core.schema import EventFilter
from analytics.store import Store
from analytics.store import detection as queries

__all__ = ["NPZ_KEYS", "SUSPECT_FORMATS", "CleanlabArrays", "cleanlab_arrays", "export_suspects",
           "suspects_table"]

#: What a run's suspects can be written as: the three table formats and cleanlab's arrays.
SUSPECT_FORMATS = (*exports.FORMATS, "npz")
#: The arrays of the ``.npz``, in the order they are written.
NPZ_KEYS = ("labels", "pred_probs", "item_ids", "classes", "consensus", "run_id")


@dataclasses.dataclass(frozen=True)
class CleanlabArrays:
    """A run's confident-learning inputs in cleanlab's form (see the module's table of keys)."""

    run_id: str
    labels: np.ndarray
    pred_probs: np.ndarray
    item_ids: np.ndarray
    classes: np.ndarray
    consensus: np.ndarray

    def to_npz(self) -> bytes:
        """The ``.npz`` file's bytes: every array of ``NPZ_KEYS``, compressed; strings as fixed-width
        unicode, so ``numpy.load(..., allow_pickle=False)`` reads it."""
        arrays = {key: getattr(self, key) for key in NPZ_KEYS if key != "run_id"}
        arrays["run_id"] = np.array(self.run_id)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{key: arrays[key] for key in NPZ_KEYS})
        return buffer.getvalue()


def _run_params(store: Store, run_id: str) -> dict:
    params = queries.run_params(store, run_id)
    if not params:
        raise exports.ExportError(f"There is no detection run {run_id!r}.")
    return params


def cleanlab_arrays(store: Store, run_id: str) -> CleanlabArrays:
    """Run ``run_id``'s confident-learning inputs as cleanlab takes them.

    Raises
    ------
    ExportError
        No such run; a run whose items had no model opinion (no features, no imported predictions); a run
        stored before the arrays were kept.
    """
    params = _run_params(store, run_id)
    rows, pred_probs = queries.run_pred_probs(store, run_id)
    if not len(rows):
        if not params.get("model"):
            raise exports.ExportError(
                f"Run {run_id} has no model probabilities (its items had no features and no predictions "
                "were imported), so confident learning did not run: there is nothing to export for cleanlab.")
        raise exports.ExportError(
            f"Run {run_id} was stored before LabelWatch kept a run's probabilities: run detection again "
            "(`python -m analytics score`, or the Suspects page) to export it for cleanlab.")
    classes = np.array([str(c) for c in params["classes"]])
    if pred_probs.shape[1] != len(classes):
        raise exports.ExportError(f"Run {run_id} holds {pred_probs.shape[1]} probabilities per item for "
                                  f"{len(classes)} classes.")
    codes = pd.Index(classes).get_indexer(rows["label"].astype(str))
    if (codes < 0).any():
        raise exports.ExportError(f"Run {run_id} holds a label outside its classes.")
    return CleanlabArrays(run_id=run_id, labels=codes.astype(np.int64), pred_probs=pred_probs,
                          item_ids=rows["item_id"].astype(str).to_numpy().astype(str), classes=classes,
                          consensus=rows["consensus"].to_numpy(dtype=bool))


def suspects_table(store: Store, run_id: str, *, flt: EventFilter | None = None,
                   **filters: object) -> pd.DataFrame:
    """Run ``run_id``'s items in view matching ``filters`` (``analytics.store.detection.suspects_page``'s:
    ``status`` None for every status, ``cluster_id``, ``min_score``, …), by status, strongest evidence
    first: ``rank, item_id, status, score, given_label, suggested_label, agreeing, available, cluster_id,
    explanation``.

    Raises
    ------
    ExportError
        No such run.
    """
    _run_params(store, run_id)
    filters.setdefault("status", None)
    return queries.suspects_page(store, run_id, flt=flt, limit=None, with_total=False, **filters)[0]


def export_suspects(store: Store, run_id: str, out: str | Path, fmt: str | None = None, *,
                    status: str | None = None) -> exports.Written:
    """Write run ``run_id``'s items to ``out``: a table (``suspects_table``) of the items of ``status``
    (None: every status), or with ``npz`` cleanlab's arrays of the whole run (``cleanlab_arrays``).

    Parameters
    ----------
    store : Store
        The store.
    run_id : str
        The run.
    out : str or Path
        The file to write (replaced if it exists).
    fmt : {"csv", "parquet", "jsonl", "npz"}, optional
        The format; None: from ``out``'s extension.
    status : str, optional
        ``mislabeled``, ``no_consensus`` or ``ok``; not with ``npz`` (cleanlab needs every item).

    Returns
    -------
    Written
        The file, its format and the items in it.

    Raises
    ------
    ExportError
        An unknown format or extension, no such run, a status with ``npz``, or (``npz``) a run without its
        arrays. Nothing is written.
    """
    fmt = exports.format_for(out, fmt, formats=SUSPECT_FORMATS)
    if fmt == "npz":
        if status is not None:
            raise exports.ExportError("cleanlab's arrays hold every item the run's model scored: leave out "
                                      "the status to write them")
        arrays = cleanlab_arrays(store, run_id)
        Path(out).write_bytes(arrays.to_npz())
        return exports.Written(Path(out), fmt, len(arrays.labels))
    frame = suspects_table(store, run_id, status=status)
    exports.write(frame, out, fmt)
    return exports.Written(Path(out), fmt, len(frame))
