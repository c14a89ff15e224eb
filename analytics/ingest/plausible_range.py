"""The plausible time range of an import: timestamps outside it are rejected with the range in the reason,
so a date typed as 1026 or 2062 cannot land in the store. Configurable per import (``time_range``); by
default from 1990-01-01 to a day after the import.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass

from analytics.store.validation import (
    TIMESTAMP_CEILING,
    TIMESTAMP_FLOOR,
    describe_range,
)

#: Environment variables that set the plausible range (ISO dates or times, UTC).
EARLIEST_ENV, LATEST_ENV = "LABELWATCH_EARLIEST", "LABELWATCH_LATEST"
#: The plausible range of timestamps when nothing else is set: from this day to one day from now.
DEFAULT_EARLIEST = dt.datetime(1990, 1, 1)
DEFAULT_LATEST_AHEAD = dt.timedelta(days=1)


@dataclass(frozen=True)
class TimeRange:
    """The plausible range of imported timestamps (UTC, both ends included)."""

    earliest: dt.datetime
    latest: dt.datetime

    def __str__(self) -> str:
        return describe_range(self.earliest, self.latest)


def time_range(
    earliest: str | dt.date | None = None,
    latest: str | dt.date | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> TimeRange:
    """The plausible range of imported timestamps, from arguments, else the environment, else the defaults.

    Parameters
    ----------
    earliest, latest : str, date, datetime or None
        ISO dates or times (UTC), e.g. ``"2015-01-01"``. None falls back to ``LABELWATCH_EARLIEST`` /
        ``LABELWATCH_LATEST``, then to 1990-01-01 and to one day from now.
    environ : mapping or None
        The environment to read (default ``os.environ``).

    Returns
    -------
    TimeRange

    Raises
    ------
    ValueError
        A value that is not a date or time, a range that is empty, or one that reaches outside 1900-01-01 to
        2200-01-01 (what every reader of the store holds); the message names the setting.

    Examples
    --------
    >>> time_range("2015-01-01", "2025-12-31")
    TimeRange(earliest=datetime.datetime(2015, 1, 1, 0, 0), latest=datetime.datetime(2025, 12, 31, 0, 0))
    """
    environ = os.environ if environ is None else environ
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    bounds = []
    for value, variable, default in (
        (earliest, EARLIEST_ENV, DEFAULT_EARLIEST),
        (latest, LATEST_ENV, now + DEFAULT_LATEST_AHEAD),
    ):
        setting = "--" + variable.removeprefix("LABELWATCH_").lower() + " / " + variable
        if value is None or (isinstance(value, str) and not value.strip()):
            value = environ.get(variable, "").strip() or default
        bounds.append(_moment(value, setting))
    found = TimeRange(*bounds)
    if not TIMESTAMP_FLOOR <= found.earliest < found.latest <= TIMESTAMP_CEILING:
        raise ValueError(
            f"the plausible range of timestamps {found} is not a range within {TIMESTAMP_FLOOR:%Y-%m-%d} and "
            f"{TIMESTAMP_CEILING:%Y-%m-%d}; expected an earliest time before the latest one, both within"
        )
    return found


def _moment(value: str | dt.date, setting: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    try:
        return _moment(dt.datetime.fromisoformat(value.strip()), setting)
    except ValueError:
        raise ValueError(f"{setting}: {value!r} is not a date or time; expected e.g. 2015-01-01") from None
