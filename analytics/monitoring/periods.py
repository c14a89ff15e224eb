"""Calendar windows of the monitoring charts: a filter narrowed to some days (``window_filter``), the days
the charts cover (``covered_days``) and the periods (a week, a month) those days fill only in part
(``partial_periods``, ``with_partial``), so that a drop at the edge of the data reads as the calendar, not
as the labelers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd

from analytics.core.schema import EventFilter


def window_filter(flt: EventFilter | None, start: dt.date, end: dt.date) -> EventFilter:
    """``flt`` narrowed to the days ``start`` … ``end``, never widened past its own window."""
    base = flt or EventFilter()
    return replace(
        base,
        start=max(start, base.start) if base.start else start,
        end=min(end, base.end) if base.end else end,
    )


#: Length of each time grain, for telling complete periods from partial ones.
_GRAIN_OFFSETS = {
    "day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1),
}


def covered_days(flt: EventFilter | None, first: dt.date | None, last: dt.date | None) -> tuple:
    """The days the charts can show: the store's data days ``first`` … ``last`` within ``flt``'s window.

    Returns
    -------
    (date, date) or (None, None)
        Inclusive; (None, None) for an empty store.
    """
    if first is None or last is None:
        return None, None
    flt = flt or EventFilter()
    return max(first, flt.start or first), min(last, flt.end or last)


def partial_periods(
    periods: pd.Series, *, grain: str, first: dt.date | None, last: dt.date | None
) -> np.ndarray:
    """Which periods the covered days ``first`` … ``last`` do not fill: a partial week or month.

    Parameters
    ----------
    periods : Series of datetime
        Period starts (``date_trunc(grain, …)``: days, Mondays, first days of months).
    grain : {"day", "week", "month"}
    first, last : date or None
        The covered days (``covered_days``); None marks nothing.

    Returns
    -------
    ndarray of bool
        True for a period that starts before ``first`` or ends after ``last``: its counts cover only some
        of its days, so a drop there is the calendar, not the labelers.

    Notes
    -----
    Days are whole: the last day of data counts as covered even when its last event came at noon, so at
    the day grain only days outside the window are partial.

    Examples
    --------
    >>> weeks = pd.Series(pd.to_datetime(["2026-08-17", "2026-08-24"]))
    >>> partial_periods(weeks, grain="week", first=dt.date(2026, 8, 1), last=dt.date(2026, 8, 26)).tolist()
    [False, True]
    """
    if grain not in _GRAIN_OFFSETS:
        raise ValueError(f"unknown grain {grain!r}; use one of {', '.join(_GRAIN_OFFSETS)}")
    starts = pd.to_datetime(pd.Series(periods)).reset_index(drop=True)
    if first is None or last is None or starts.empty:
        return np.zeros(len(starts), dtype=bool)
    ends = starts + _GRAIN_OFFSETS[grain]  # exclusive
    return ((starts < pd.Timestamp(first)) | (ends > pd.Timestamp(last) + pd.Timedelta(days=1))).to_numpy()


def with_partial(frame: pd.DataFrame, *, grain: str, flt: EventFilter | None, first: dt.date | None,
                 last: dt.date | None) -> pd.DataFrame:
    """``frame`` (a ``period`` column) with a ``partial`` column: the periods that the store's data days
    (``first`` to ``last``) within the filter's dates do not fill (``covered_days``, ``partial_periods``)."""
    start, end = covered_days(flt, first, last)
    return frame.assign(partial=partial_periods(frame["period"], grain=grain, first=start, last=end))
