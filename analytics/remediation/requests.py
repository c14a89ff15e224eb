"""Sending items to review — a hand-picked selection, a cluster, or the suspects a detection run flagged in
one slice (``attribute = value``) — as review requests, which the review queue
(``analytics.remediation.queue``) serves by impact.

A send is a write of the remediation workflow: it needs the reviewer role (``roles.require``), whoever calls
it. Each item is requested once per run (``analytics.store.review_requests.request_review``), so sending a
slice again adds only the items not requested yet; the request's note names the slice (and the filters it
was seen under), since requests have no column for where they came from.
"""

from __future__ import annotations

import dataclasses

from analytics.core.schema import EventFilter
from analytics.detection.suspects import filter_words
from analytics.remediation.roles import Actor, Role, require
from analytics.store import Store
from analytics.store import review_requests as sql

__all__ = ["SliceSend", "send_items", "send_slice", "slice_note", "slice_suspects"]


@dataclasses.dataclass(frozen=True)
class SliceSend:
    """What a send did: ``asked`` items of the slice, ``added`` of them newly requested, under ``note``."""

    asked: int
    added: int
    note: str


def slice_suspects(store: Store, run_id: str, attribute: str, value: str, *,
                   flt: EventFilter | None = None) -> list[str]:
    """The items run ``run_id`` flagged in the slice ``attribute = value`` among the items in view under
    ``flt``, strongest evidence first (``analytics.store.review_requests.slice_suspect_ids``)."""
    return sql.slice_suspect_ids(store, run_id, attribute, value, flt=flt)


def slice_note(attribute: str, value: str, flt: EventFilter | None = None) -> str:
    """The note a slice's requests carry, e.g. "slice source = fax" or "slice region = north (in view:
    source = fax)".

    Examples
    --------
    >>> slice_note("source", "fax")
    'slice source = fax'
    """
    scope = filter_words(flt) if flt is not None else ""
    return f"slice {attribute} = {value}" + (f" (in view: {scope})" if scope else "")


def send_slice(store: Store, actor: Actor, run_id: str, attribute: str, value: str, *,
               flt: EventFilter | None = None) -> SliceSend:
    """Send the suspects of the slice ``attribute = value`` in run ``run_id`` (``slice_suspects``) to
    review, requested by ``actor``.

    Raises
    ------
    PermissionDenied
        ``actor`` is a viewer.
    """
    require(actor, Role.REVIEWER, "send items to review")
    items = slice_suspects(store, run_id, attribute, value, flt=flt)
    note = slice_note(attribute, value, flt)
    added = sql.request_review(store, items, run_id=run_id, cluster_id=None, requested_by=actor.name,
                               note=note) if items else 0
    return SliceSend(len(items), added, note)


def send_items(store: Store, actor: Actor, item_ids: list[str], *, run_id: str | None,
               cluster_id: str | None = None, note: str | None = None) -> int:
    """Send ``item_ids`` (a selection or a cluster of run ``run_id``) to review, requested by ``actor``;
    return how many were newly requested.

    Raises
    ------
    PermissionDenied
        ``actor`` is a viewer.
    """
    require(actor, Role.REVIEWER, "send items to review")
    return sql.request_review(store, item_ids, run_id=run_id, cluster_id=cluster_id, requested_by=actor.name,
                              note=note)
