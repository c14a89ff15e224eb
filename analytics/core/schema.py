"""Names shared by every layer: tables, columns, input kinds, filters and the glossary.

Glossary (used in docstrings and variable names across ``analytics``):

- N items (``item_id``), M annotators (``annotator_id``), K classes (``label``).
- An *event* is one label given by one annotator to one item at one time (``label_events``).
- A *batch* is one import (``ingest_batches``); every stored row carries the ``batch_id`` it came from.
- A *slice* is a value of an item attribute (``item_attributes.key = value``), e.g. ``source = fax``.

Identifiers that reach SQL as names (never as values) must come from the allow-lists here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

#: Input kinds accepted by ``analytics.ingest.pipeline`` and ``python -m analytics ingest --kind``.
INPUT_KINDS = (
    "events", "items", "gold", "predictions", "vocabulary", "guidelines", "label-studio", "labelbox"
)
#: Input kinds read from a labeling tool's export (parsed in ``analytics.ingest.readers``): label events, and
#: the items their tasks or data rows describe, which enrich the store's items but never move one to another
#: dataset.
EXPORT_KINDS = ("label-studio", "labelbox")

#: Columns each tabular input kind must have, and the optional ones it understands.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("item_id", "annotator_id", "label", "labeled_at"),
    "items": ("item_id",),
    "gold": ("item_id", "label"),
    "predictions": ("item_id",),
    "vocabulary": ("label",),
    "guidelines": ("version", "effective_at"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("guideline_version", "cohort", "confidence", "duration_s", "campaign_id", "dataset"),
    "items": ("dataset", "split", "created_at", "text", "media_ref", "features"),
    "gold": ("source",),
    "predictions": ("model_version", "label", "prob"),
    "vocabulary": ("parent", "description"),
    "guidelines": ("summary",),
}

#: Default dataset name for items that arrive only through label events.
DEFAULT_DATASET = "default"

#: Annotator cohorts the demo uses; stores may hold any other cohort name.
DEMO_COHORTS = ("expert", "crowd", "vendor", "spammer")

#: The time grains, in the order pages offer them (the one list: pages, charts and queries use it), mapped
#: to DuckDB ``date_trunc`` parts.
TIME_GRAINS = {"day": "day", "week": "week", "month": "month"}


@dataclass(frozen=True)
class EventFilter:
    """The global filters of the dashboard, applied to label events.

    Every field is optional; an empty filter selects the whole store.

    Parameters
    ----------
    dataset : str or None
        Keep items of this dataset (``items.dataset``).
    start, end : datetime.date or None
        Keep events labeled on or after ``start`` and on or before ``end`` (whole days, UTC).
    cohorts : tuple of str
        Keep events whose annotator belongs to one of these cohorts; empty keeps all.
    attribute, attribute_value : str or None
        Keep items whose slice attribute ``attribute`` equals ``attribute_value``.
    """

    dataset: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    cohorts: tuple[str, ...] = field(default_factory=tuple)
    attribute: str | None = None
    attribute_value: str | None = None

    def is_empty(self) -> bool:
        return self == EventFilter()


#: What a detection run concludes about each item (``analytics.detection``'s
#: ``Detection.items["status"]``, stored with the run).
#: ``MISLABELED``: its annotators agree on a label (``has_consensus``) and the combined evidence makes
#: another label the most probable; ``NO_CONSENSUS``: no label holds a strict majority of its ratings, so
#: there is no given label to be wrong and a person must decide (adjudication); ``HOLDS``: the given label
#: is the most probable.
MISLABELED, NO_CONSENSUS, HOLDS = "mislabeled", "no_consensus", "ok"
STATUSES = (MISLABELED, NO_CONSENSUS, HOLDS)
