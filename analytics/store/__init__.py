"""The only place that holds SQL (docs/ARCHITECTURE.md): one module per concern, re-exported here.

- ``connection``: ``Store`` (open, migrate, cursors, serialised transactions) and its errors.
- ``migrations``: the schema.
- ``filters``: the global dashboard filter as a parameterised WHERE clause.
- ``overview``: reads behind the Overview page and the filter widgets.
"""

from analytics.store.connection import Store, StoreError, StoreLockedError

__all__ = ["Store", "StoreError", "StoreLockedError"]
