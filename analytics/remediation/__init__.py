"""The remediation workflow: acting on suspect labels, safely and on the record.

- ``roles``: who may do what (viewer, reviewer, admin), checked on every write.
- ``actions``: confirm, relabel, escalate, exclude, revert — append-only, with rationale and evidence,
  and how they resolve into each item's label.
- ``requests``: sending a selection, a cluster or a slice's suspects to review.
- ``queue``: what waits for a reviewer, ordered by impact, with second reviews.
- ``policies``: declared auto-corrections with a dry run and guardrails.
- ``campaigns``: relabel campaigns round a labeling tool (Label Studio), their progress and verdict.
- ``versions``: immutable snapshots of the resolved labels, their diff, rollback and export.
- ``audit``: the trail of every action; ``cli``: the commands for pipelines.
"""
