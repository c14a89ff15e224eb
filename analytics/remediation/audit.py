"""The audit trail: every remediation action with who, when, why, the evidence and where it came from, for
the Audit page, the CLI and exports; and the state a cache keys remediation reads by."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from analytics.store import Store
from analytics.store import campaigns as campaign_sql
from analytics.store import remediation as sql

__all__ = ["audit_log", "export_rows", "state"]


def audit_log(store: Store, *, item_id: str | None = None, actor: str | None = None,
              action: str | None = None, policy: str | None = None, campaign_id: str | None = None,
              since: dt.datetime | None = None, until: dt.datetime | None = None,
              limit: int | None = None) -> pd.DataFrame:
    """Actions newest first, narrowed by every argument given (``analytics.store.remediation.action_log``)."""
    return sql.action_log(store, item_id=item_id, actor=actor, action=action, policy=policy,
                          campaign_id=campaign_id, since=since, until=until, limit=limit)


def export_rows(actions: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``audit_log`` as the exports write them: every column, with ``evidence`` (stored as JSON text)
    as the object it holds, so JSON Lines nest it (CSV and Parquet write it as JSON text again)."""
    if "evidence" not in actions:
        return actions
    parsed = [json.loads(v) if isinstance(v, str) else None for v in actions["evidence"]]
    return actions.assign(evidence=pd.Series(parsed, index=actions.index, dtype=object))


def state(store: Store) -> tuple:
    """``(latest action seq, versions, review requests, campaigns)``: changes with every remediation
    write."""
    return (*sql.remediation_state(store), campaign_sql.campaign_count(store))
