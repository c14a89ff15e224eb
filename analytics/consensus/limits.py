"""How large a consensus or detection model may grow: memory planned over the label set and confusion cells.

Dawid–Skene keeps a K × K confusion matrix per annotator group and K posteriors per item, and detection K
class probabilities per item, so both grow with the square or the size of the label set. A store of
thousands of labels is refused with a message (``TooManyClasses``) before any array is allocated, instead of
exhausting the machine.
"""

from __future__ import annotations

import os

#: The memory a model over the label set may plan for (``check_model_size``). Dawid–Skene keeps a K × K
#: confusion matrix per annotator group and K posteriors per item, so it grows with the square of the label
#: set: a store of thousands of labels is refused with a message instead of exhausting the machine.
MAX_MODEL_BYTES = 4 * 2**30
#: The most confusion-matrix cells (annotator groups × K²) a model may fit. Every EM iteration updates them
#: all (smoothing leaves none empty): 21 million cells (30 annotators, 832 labels) take 1.3 s an iteration on
#: 10,000 ratings, so this bound keeps a fit to seconds, not minutes (the demo has 6,000).
MAX_CONFUSION_CELLS = 5_000_000


class TooManyClasses(ValueError):
    """A model over this many labels would need more memory or time than it may use
    (``check_model_size``)."""


def model_limit() -> int:
    """Bytes a model may plan for: ``LABELWATCH_MAX_MODEL_GB`` gigabytes if set, else ``MAX_MODEL_BYTES``."""
    text = os.environ.get("LABELWATCH_MAX_MODEL_GB", "").strip()
    if not text:
        return MAX_MODEL_BYTES
    try:
        gigabytes = float(text)
    except ValueError:
        raise ValueError(f"LABELWATCH_MAX_MODEL_GB must be a number of gigabytes, got {text!r}") from None
    if not gigabytes > 0:
        raise ValueError(f"LABELWATCH_MAX_MODEL_GB must be above 0, got {text!r}")
    return int(gigabytes * 2**30)


def check_model_size(what: str, *, n_items: int, k: int, n_groups: int = 0, itemsize: int = 8,
                     copies: int = 4, limit: int | None = None) -> None:
    """Raise ``TooManyClasses`` when ``what`` would plan for more than ``limit`` bytes, or fit more than
    ``MAX_CONFUSION_CELLS`` confusion-matrix cells.

    The plan is ``copies`` working copies of the (n_groups · K × K) confusion matrices and of the
    (n_items × K) class probabilities, ``itemsize`` bytes each (``limit`` defaults to ``model_limit()``).

    Examples
    --------
    >>> check_model_size("Dawid–Skene", n_items=1_797, k=10, n_groups=60)
    >>> check_model_size("Dawid–Skene", n_items=8_937, k=832, n_groups=30)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analytics.consensus.limits.TooManyClasses: Dawid–Skene over 832 labels would fit 30 confusion ...
    >>> check_model_size("Dawid–Skene", n_items=100_000, k=10_000, n_groups=300)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analytics.consensus.limits.TooManyClasses: Dawid–Skene over 10,000 labels ... about 924 GB, ...
    """
    limit = model_limit() if limit is None else limit
    planned = copies * itemsize * (n_groups * k * k + n_items * k)
    if planned > limit:
        raise TooManyClasses(
            f"{what} over {k:,} labels ({n_items:,} items, {n_groups:,} annotator groups) would need about "
            f"{planned / 2**30:,.0f} GB, more than the {limit / 2**30:g} GB it may use: its memory grows "
            "with the square of the number of labels. Filter to fewer labels, or merge rare labels into "
            "their parents."
        )
    cells = n_groups * k * k
    if cells > MAX_CONFUSION_CELLS:
        raise TooManyClasses(
            f"{what} over {k:,} labels would fit {n_groups:,} confusion matrices of {k:,} × {k:,} labels "
            f"({cells:,} cells, more than the {MAX_CONFUSION_CELLS:,} it fits in seconds): its work grows "
            "with the square of the number of labels. Filter to fewer labels or annotators, or merge rare "
            "labels into their parents."
        )
