"""The remediation workflow: acting on suspect labels, safely and on the record.

- ``roles``: who may do what (viewer, reviewer, admin), checked on every write.
- ``actions``: confirm, relabel, escalate, exclude, revert — append-only, with rationale and evidence,
  and how they resolve into each item's label.
- ``versions``: immutable snapshots of the resolved labels, their diff, rollback and export.
"""
