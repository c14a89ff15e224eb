"""Cached reads behind the Remediate pages, keyed by the store's data version and its remediation state
(the latest action, the versions, the review requests), so every write shows on the next run. Registered
with ``ui.loaders`` so ``loaders.clear`` drops them too."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.core.schema import EventFilter
from analytics.remediation import actions, audit, campaigns, policies, queue, requests, versions
from analytics.remediation.roles import Actor
from ui import identity, loaders
from ui import store as app_store

_cached = loaders._registered(st.cache_data(ttl=600, max_entries=32, show_spinner=False))


def state() -> tuple:
    """The remediation state now (read fresh on every run)."""
    return audit.state(app_store.current())


def actor() -> Actor:
    """The current user with their role (``ui.identity.actor``: the logged-in user, or in single-user mode
    the local user)."""
    return identity.actor()


@_cached
def review_queue(src: loaders.Source, state: tuple, reviewer: str | None, run_id: str | None) -> pd.DataFrame:
    """The queue as ``reviewer`` sees it (``analytics.remediation.queue.review_queue``)."""
    return queue.review_queue(app_store.current(), reviewer=reviewer, run_id=run_id)


@_cached
def vocabulary(src: loaders.Source) -> list[str]:
    """The labels an item can be given."""
    return actions.vocabulary(app_store.current())


@_cached
def audit_log(src: loaders.Source, state: tuple, **filters: object) -> pd.DataFrame:
    """The audit trail under ``filters`` (``analytics.remediation.audit.audit_log``)."""
    return audit.audit_log(app_store.current(), **filters)


@_cached
def version_list(src: loaders.Source, state: tuple) -> pd.DataFrame:
    """Every dataset version, newest first."""
    return versions.list_versions(app_store.current())


@_cached
def version_diff(src: loaders.Source, state: tuple, old: str, new: str) -> versions.VersionDiff:
    """Two versions compared."""
    return versions.diff(app_store.current(), old, new)


@_cached
def policy_dry_run(src: loaders.Source, state: tuple, text: str, name: str, run_id: str) -> policies.DryRun:
    """What the policy ``name`` of the TOML ``text`` would change on run ``run_id``."""
    found = {p.name: p for p in policies.parse_policies(text)}
    return policies.dry_run(app_store.current(), found[name], run_id)


@_cached
def version_labels(src: loaders.Source, state: tuple, version_id: str) -> pd.DataFrame:
    """One version's labels."""
    return versions.version_labels(app_store.current(), version_id)


@_cached
def campaign_list(src: loaders.Source, state: tuple) -> pd.DataFrame:
    """Every campaign with its progress and status, newest first."""
    return campaigns.list_campaigns(app_store.current())


@_cached
def campaign_progress(src: loaders.Source, state: tuple, campaign_id: str) -> campaigns.CampaignProgress:
    """One campaign's progress, agreement and changed labels."""
    return campaigns.campaign_progress(app_store.current(), campaign_id)


@_cached
def slice_values(src: loaders.Source) -> pd.DataFrame:
    """The slices a campaign can be made of (``key, value, items``)."""
    return campaigns.slice_values(app_store.current())


@_cached
def campaign_tasks(src: loaders.Source, state: tuple, campaign_id: str) -> list[dict]:
    """The campaign as Label Studio tasks."""
    return campaigns.label_studio_tasks(app_store.current(), campaign_id)


@_cached
def slice_suspects(src: loaders.Source, run_id: str, attribute: str, value: str,
                   flt: EventFilter) -> list[str]:
    """The items run ``run_id`` flagged in the slice ``attribute = value``, in view under ``flt``
    (``analytics.remediation.requests.slice_suspects``)."""
    return requests.slice_suspects(app_store.current(), run_id, attribute, value, flt=flt)
