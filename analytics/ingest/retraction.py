"""Undoing an import: the service that retracts a batch, so every read leaves its rows out from now on.

Pages and widgets write through this module, not through the store's SQL modules. It checks what a caller
passes (a batch id, who retracts it and why), then records the retraction with
``analytics.store.retractions.retract_batch``: one append-only row, nothing deleted, and final; to take the
rows back, import the file again.
"""

from __future__ import annotations

from analytics.remediation.roles import Actor, Role, recorded_name
from analytics.store import Store
from analytics.store.retractions import RetractionError, retract_batch

__all__ = ["RetractionError", "retract"]


def retract(store: Store, batch_id: str, *, actor: Actor | str, reason: str) -> dict:
    """Retract the import ``batch_id`` on behalf of ``actor``, for ``reason`` (both recorded, both required).

    Returns the retraction's record (``batch_id, kind, source, rows_accepted, retracted_by, retracted_at,
    reason``, as ``analytics.store.retractions.retract_batch``) and raises ``RetractionError`` for a missing
    batch id, a blank actor or reason, an unknown batch, or a batch retracted already. An ``Actor`` below
    the admin role gets ``PermissionDenied`` and nothing is written
    (``analytics.remediation.roles.recorded_name``).

    Examples
    --------
    >>> retract(Store(":memory:"), "", actor="lead", reason="wrong export")
    Traceback (most recent call last):
    ...
    analytics.store.retractions.RetractionError: Choose the import batch to retract.
    """
    actor = recorded_name(actor, Role.ADMIN, "retract an import")
    if not isinstance(batch_id, str) or not batch_id.strip():
        raise RetractionError("Choose the import batch to retract.")
    return retract_batch(store, batch_id, actor=actor, reason=reason)
