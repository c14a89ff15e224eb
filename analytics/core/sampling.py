"""One sampling policy for every page: when a page reads all items, and when a deterministic 1-in-m sample.

Above a budget of filtered events a page reads the items whose hash falls in a 1-in-m sample (all their
events), sized to hold about ``SAMPLE_EVENTS`` events. Items are the sampling unit of every interval in the
engine, so estimates stay unbiased and intervals widen; the page says that it sampled. There are two budgets
of the same rule, because the work per event differs:

- ``COUNTS_EVENT_LIMIT`` for per-item counts (the Overview and ``summary``): one aggregate per item.
- ``STATISTICS_EVENT_LIMIT`` for the statistics that resample or iterate (the Agreement page's bootstraps and
  Dawid–Skene, the Drift and Slices pages' tests): half the budget keeps their first render within a few
  seconds at 1e7 events.

An item count estimated from a sample rests on at least ``MIN_SAMPLED_ITEMS`` sampled items.

A store may keep a base sample of its events beside them (a store bound to a large Parquet lake keeps the
items with ``hash(item_id) % b = 0``, ``analytics.store.lake``): a 1-in-m sample with m a multiple of b is
a subset of it and reads it instead of every event. ``sample_modulus`` then rounds m up to a multiple of b
when m > 1 and m ≥ b/2: the sample is never smaller than half the size aimed at (b ≤ 2m, and ⌈m/b⌉b < 2m
above b). Below b/2 it leaves m, which reads every event.
"""

from __future__ import annotations

import math

#: Above this many filtered events, per-item counts are estimated on a sample of items.
COUNTS_EVENT_LIMIT = 1_000_000
#: Above this many filtered events, the resampling and iterative statistics run on a sample of items.
STATISTICS_EVENT_LIMIT = 500_000
#: About this many events are read in a sample.
SAMPLE_EVENTS = 250_000
#: An item count is estimated from a sample of at least this many items (``overview.estimate_items``): its
#: relative standard error is then at most 1/√40,000 = 0.5%, so the estimate is within 2% (four standard
#: errors) but for odds of about 1 in 16,000.
MIN_SAMPLED_ITEMS = 40_000


def sample_modulus(
    events: int, *, limit: int | None = None, sample: int | None = None, base: int = 1
) -> int:
    """The m of the 1-in-m item sample read for ``events`` filtered events (1 = all items, no sampling).

    ``limit`` and ``sample`` default to ``COUNTS_EVENT_LIMIT`` and ``SAMPLE_EVENTS`` as they are at the call;
    ``base`` is the modulus of the store's base sample (``Store.sample_base``; 1: none).

    Examples
    --------
    >>> sample_modulus(1_000_000), sample_modulus(1_000_001), sample_modulus(10_000_000)
    (1, 5, 40)
    >>> sample_modulus(10_000_000, base=16), sample_modulus(10_000_000, base=50)
    (48, 50)
    >>> sample_modulus(10_000_000, base=81)
    40
    """
    limit = COUNTS_EVENT_LIMIT if limit is None else limit
    sample = SAMPLE_EVENTS if sample is None else sample
    modulus = 1 if events <= limit else max(1, math.ceil(events / sample))
    return on_base(modulus, base)


def on_base(modulus: int, base: int) -> int:
    """``modulus`` rounded up to a multiple of ``base`` when it is at least half ``base``, else unchanged;
    1 (every item, exact) stays 1.

    Examples
    --------
    >>> on_base(1, 4), on_base(2, 4), on_base(3, 4), on_base(4, 4), on_base(5, 4), on_base(1, 2)
    (1, 4, 4, 4, 8, 1)
    """
    sampled = modulus > 1 and 2 * modulus >= base > 1
    return math.ceil(modulus / base) * base if sampled else modulus


def below_base(modulus: int, base: int) -> int:
    """``modulus`` rounded down to a multiple of ``base`` when it is at least ``base``, else unchanged: a
    larger sample than ``modulus`` reads, inside the base sample when ``modulus`` ≥ ``base``.

    Examples
    --------
    >>> below_base(1, 4), below_base(3, 4), below_base(4, 4), below_base(7, 4)
    (1, 3, 4, 4)
    """
    return modulus if base <= 1 or modulus < base else modulus - modulus % base


def statistics_modulus(events: int, *, base: int = 1) -> int:
    """The m of the 1-in-m item sample the Agreement, Drift and Slices pages read for ``events`` events.

    Examples
    --------
    >>> statistics_modulus(500_000), statistics_modulus(500_001)
    (1, 3)
    """
    return sample_modulus(events, limit=STATISTICS_EVENT_LIMIT, base=base)
