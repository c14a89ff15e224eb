"""Policies on a real DuckDB file: parsing with errors that name the entry, dry run that writes nothing,
guardrails, apply in one transaction with the policy as provenance, and the shipped example's accuracy on
the demo (whose true labels are known)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.remediation import actions, policies
from analytics.remediation.roles import Actor, PermissionDenied, Role
from analytics.store import Store
from analytics.store import remediation as sql

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "policies.example.toml"
LEAD, ANA = Actor("lead", Role.ADMIN), Actor("ana", Role.REVIEWER)


def _run(store: Store) -> str:
    return store.query("SELECT run_id FROM detection_runs ORDER BY created_at DESC LIMIT 1")["run_id"][0]


def _policy(when: str, **extra: object) -> policies.Policy:
    lines = "".join(f"{k} = {v}\n" for k, v in extra.items())
    return policies.parse_policies(f"[[policy]]\nname = 'p'\nversion = 1\nwhen = [{when}]\n{lines}")[0]


@pytest.mark.parametrize(("text", "message"), [
    ("[[policy]]\nname='a'\nversion=1\nwhen=['colour >= 1']", "unknown field 'colour'"),
    ("[[policy]]\nname='a'\nversion=1\nwhen=['score >= high']", "score is a number; 'high' is not"),
    ("[[policy]]\nname='a'\nversion=0\nwhen=['score >= 1']", "version must be a whole number"),
    ("[[policy]]\nname='a'\nversion=1\nwhen=[]", "at least one condition"),
    ("[[policy]]\nname='a'\nversion=1\nwhen=['score >= 1']\nmax_class_shrink=2", "between 0 and 1"),
    ("[[policy]]\nname='a'\nversion=1\nwhen=['status > ok']", "compare it with == or !="),
    ("policy = 3", "declares no policy"),
])
def test_a_bad_policy_is_refused_with_the_entry_named(text, message):
    with pytest.raises(policies.PolicyError, match=message):
        policies.parse_policies(text, "mine.toml")


def test_the_shipped_example_is_right_at_least_95_percent_of_the_time_on_the_demo(store):
    policy = policies.load_policies(EXAMPLE)[0]
    preview = policies.dry_run(store, policy, _run(store))
    truth = dict(store.query("SELECT item_id, true_label FROM demo_truth").values)
    changes = preview.changes
    right = int((changes["to_label"] == changes["item_id"].map(truth)).sum())
    assert len(changes) >= 10 and not preview.blocked
    assert right / len(changes) >= 0.95, f"{right} of {len(changes)} corrections match the truth"


def test_a_dry_run_writes_nothing_and_apply_writes_one_action_per_item(store):
    policy = policies.load_policies(EXAMPLE)[0]
    run = _run(store)
    preview = policies.dry_run(store, policy, run)
    assert store.scalar("SELECT count(*) FROM remediation_actions") == 0
    assert preview.classes["change"].sum() == 0  # a relabel moves an item, it does not add one
    with pytest.raises(PermissionDenied):
        policies.apply(store, ANA, policy, run)
    written = policies.apply(store, LEAD, policy, run, preview=preview)
    assert sorted(written["item_id"]) == sorted(preview.changes["item_id"])
    assert set(written["policy"]) == {policy.ref} and set(written["run_id"]) == {run}
    resolved = sql.resolved_labels(store, preview.changes["item_id"].tolist()).set_index("item_id")
    expected = preview.changes.set_index("item_id")["to_label"]
    assert (resolved.loc[expected.index, "label"] == expected).all()
    assert set(resolved["provenance"]) == {"policy"}
    # a second application finds nothing left to change: the items' labels are no longer the given ones
    assert policies.dry_run(store, policy, run).changes.empty


def test_guardrails_block_until_an_admin_overrides_with_a_reason(store):
    policy = _policy("'status == mislabeled'", max_changed_share=0.001)
    run = _run(store)
    preview = policies.dry_run(store, policy, run)
    assert preview.blocked and "more than the 0% allowed" in preview.blocked[0]
    with pytest.raises(actions.ActionError, match="guardrails block this run"):
        policies.apply(store, LEAD, policy, run)
    assert store.scalar("SELECT count(*) FROM remediation_actions") == 0
    written = policies.apply(store, LEAD, policy, run, confirm_reason="reviewed the list by hand")
    assert len(written) == len(preview.changes)
    assert '"reason": "reviewed the list by hand"' in written["evidence"].iloc[0]


def test_a_class_shrink_guardrail_names_the_class(store):
    preview = policies.dry_run(store, _policy("'status == mislabeled'", max_class_shrink=0.0), _run(store))
    assert any(b.startswith("class ") and "would shrink by" in b for b in preview.blocked)


def test_an_item_acted_on_after_the_dry_run_stops_the_apply(store):
    """A reviewer's escalation after the admin's dry run leaves the item a candidate (an escalation sets no
    label), but the policy must not relabel over it: the apply is refused whole."""
    policy = policies.load_policies(EXAMPLE)[0]
    run = _run(store)
    preview = policies.dry_run(store, policy, run)
    item = preview.changes["item_id"].iloc[0]
    actions.act(store, ANA, item, "escalate", rationale="not sure: asking an expert")
    assert item in set(policies.dry_run(store, policy, run).changes["item_id"])
    with pytest.raises(actions.ActionError, match=f"changed since the dry run.*{item}"):
        policies.apply(store, LEAD, policy, run, preview=preview)
    assert store.scalar("SELECT count(*) FROM remediation_actions WHERE policy IS NOT NULL") == 0
