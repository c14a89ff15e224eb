"""The global sidebar filters: drawn by ``app.py``, read by every page through ``current``.

The filters are mirrored in the URL so a view can be shared as a link. On a session's first run each widget
takes its value from the query string (values the store does not know are dropped); afterwards the widgets
own the values and every run writes them back to the URL. Query parameters:

========================  ===========================================
``dataset``               one dataset
``from``, ``to``          ISO dates, the labeling window (inclusive)
``cohort``                repeated, one per selected annotator cohort
``slice``, ``slice_value``  item attribute and its value
========================  ===========================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import streamlit as st

from analytics.core.schema import EventFilter
from ui.safe_text import md

#: The one rule for every page, stated once in the sidebar.
FILTER_RULE = ("They apply to every page that shows label data (Monitor and Investigate): a label counts "
               "when it passes them, an item when at least one of its labels does. The Data pages show the "
               "whole store. They travel with the page's link.")

#: Query-string names of the filters, in the order they appear in a shared link.
URL_PARAMS = ("dataset", "from", "to", "cohort", "slice", "slice_value")


def show(options: Mapping[str, Any], *, key: str = "filters") -> EventFilter:
    """Draw the filter widgets in the sidebar and return the filter they select.

    Parameters
    ----------
    options : mapping
        ``analytics.store.overview.filter_options``: ``datasets``, ``cohorts``, ``attributes`` (key → values),
        ``first_date`` and ``last_date`` (None for an empty store).
    key : str
        Prefix of the widgets' Session State keys.

    Returns
    -------
    EventFilter
        Also kept in Session State for ``current``. A date window equal to the store's whole range is
        returned as no window, so the filter stays valid when an import extends the range.
    """
    _seed_from_url(options, key)
    _drop_stale(options, key)
    with st.sidebar:
        st.subheader("Filters")
        st.caption(FILTER_RULE)
        st.selectbox(
            "Dataset", [None, *options["datasets"]], key=f"{key}.dataset",
            format_func=lambda v: "All datasets" if v is None else v,
        )
        if options["first_date"] is not None:
            st.date_input(
                "Labeled between", min_value=options["first_date"], max_value=options["last_date"],
                key=f"{key}.dates", format="YYYY-MM-DD",
            )
        st.multiselect(
            "Annotator cohorts", options["cohorts"], key=f"{key}.cohorts", placeholder="All cohorts"
        )
        st.selectbox(
            "Slice attribute", [None, *options["attributes"]], key=f"{key}.attribute",
            format_func=lambda v: "No slice" if v is None else v,
        )
        attribute = st.session_state[f"{key}.attribute"]
        if attribute is not None:
            st.selectbox(f"{md(attribute)} =", options["attributes"][attribute], key=f"{key}.value")
    flt = _to_filter(options, key)
    _write_url(flt)
    st.session_state[f"{key}.current"] = flt
    return flt


def current(*, key: str = "filters") -> EventFilter:
    """The filter the sidebar selects in this session (empty before ``show`` has run).

    Parameters
    ----------
    key : str
        The prefix given to ``show``.

    Returns
    -------
    EventFilter
    """
    return st.session_state.get(f"{key}.current", EventFilter())


def filter_from_params(params: Mapping[str, list[str]], options: Mapping[str, Any]) -> dict[str, Any]:
    """Widget values from query parameters, keeping only values the store knows.

    Parameters
    ----------
    params : mapping of str to list of str
        Every value of each query parameter (``st.query_params.get_all``).
    options : mapping
        As for ``show``.

    Returns
    -------
    dict
        Keys ``dataset``, ``dates``, ``cohorts``, ``attribute``, ``value`` for the parameters that are present
        and valid; dates are clipped to the store's range.

    Examples
    --------
    >>> opts = {"datasets": ["d1"], "cohorts": ["crowd", "expert"], "attributes": {"source": ["fax"]},
    ...         "first_date": dt.date(2024, 1, 1), "last_date": dt.date(2024, 3, 1)}
    >>> filter_from_params({"cohort": ["expert", "nobody"], "dataset": ["d9"]}, opts)
    {'cohorts': ['expert']}
    """
    values: dict[str, Any] = {}
    dataset = (params.get("dataset") or [None])[-1]
    if dataset in options["datasets"]:
        values["dataset"] = dataset
    cohorts = [c for c in params.get("cohort", []) if c in options["cohorts"]]
    if cohorts:
        values["cohorts"] = list(dict.fromkeys(cohorts))
    attribute = (params.get("slice") or [None])[-1]
    if attribute in options["attributes"]:
        values["attribute"] = attribute
        value = (params.get("slice_value") or [None])[-1]
        if value in options["attributes"][attribute]:
            values["value"] = value
    if options["first_date"] is not None:
        low, high = options["first_date"], options["last_date"]
        start = _parse_date((params.get("from") or [None])[-1]) or low
        end = _parse_date((params.get("to") or [None])[-1]) or high
        start, end = min(max(start, low), high), min(max(end, low), high)
        if (start, end) != (low, high) and start <= end:
            values["dates"] = (start, end)
    return values


def _parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _seed_from_url(options: Mapping[str, Any], key: str) -> None:
    if st.session_state.get(f"{key}.seeded"):
        return
    params = {name: st.query_params.get_all(name) for name in URL_PARAMS}
    for name, value in filter_from_params(params, options).items():
        st.session_state[f"{key}.{name}"] = value
    st.session_state[f"{key}.seeded"] = True


def _drop_stale(options: Mapping[str, Any], key: str) -> None:
    # A widget raises on a stored value it does not offer, as when the store changed under a session.
    state = st.session_state
    if state.get(f"{key}.dataset") not in [None, *options["datasets"]]:
        del state[f"{key}.dataset"]
    if f"{key}.cohorts" in state:
        state[f"{key}.cohorts"] = [c for c in state[f"{key}.cohorts"] if c in options["cohorts"]]
    attribute = state.get(f"{key}.attribute")
    if attribute is not None and attribute not in options["attributes"]:
        del state[f"{key}.attribute"]
        attribute = None
    if f"{key}.value" in state and (
        attribute is None or state[f"{key}.value"] not in options["attributes"][attribute]
    ):
        del state[f"{key}.value"]
    low, high = options["first_date"], options["last_date"]
    dates = tuple(state.get(f"{key}.dates") or ())
    # A window that spanned the whole store keeps spanning it when an import extends the store.
    spanned = dates == state.get(f"{key}.range")
    if low is not None and (spanned or not dates or not all(low <= d <= high for d in dates)):
        state[f"{key}.dates"] = (low, high)
    state[f"{key}.range"] = (low, high)


def _to_filter(options: Mapping[str, Any], key: str) -> EventFilter:
    state = st.session_state
    start = end = None
    dates = tuple(state.get(f"{key}.dates") or ())
    if dates:
        # While a range is being picked the widget holds only its first day.
        start, end = dates[0], dates[-1] if len(dates) > 1 else None
        if start == options["first_date"]:
            start = None
        if end == options["last_date"]:
            end = None
    attribute = state.get(f"{key}.attribute")
    return EventFilter(
        dataset=state.get(f"{key}.dataset"),
        start=start,
        end=end,
        cohorts=tuple(state.get(f"{key}.cohorts") or ()),
        attribute=attribute,
        attribute_value=state.get(f"{key}.value") if attribute is not None else None,
    )


def _write_url(flt: EventFilter) -> None:
    wanted: dict[str, list[str]] = {
        "dataset": [flt.dataset] if flt.dataset else [],
        "from": [flt.start.isoformat()] if flt.start else [],
        "to": [flt.end.isoformat()] if flt.end else [],
        "cohort": list(flt.cohorts),
        "slice": [flt.attribute] if flt.attribute else [],
        "slice_value": [flt.attribute_value] if flt.attribute_value is not None else [],
    }
    for name, values in wanted.items():
        if st.query_params.get_all(name) == values:
            continue
        if values:
            st.query_params[name] = values if len(values) > 1 else values[0]
        else:
            del st.query_params[name]
