"""The demo's remediation history, made through the same engine calls a team would make.

After the demo's labels are imported and scored (``analytics.synthetic.demo``), ``build_history`` plays one
round of remediation on the store, seeded, in this order:

1. **Version v1**, "before": the annotators' consensus as the lead (``lead``, admin) found it.
2. **A review round**: the lead sends the run's highest-ranked flagged suspects to review; two reviewers
   (``rita``, ``sam``) take the queue in order of impact, each right (the demo's truth) with probability
   ``REVIEWER_ACCURACY`` and otherwise keeping the label they were shown. They confirm or relabel with a
   rationale quoting the evidence; items the queue marks for a second review get the other reviewer's
   decision, and a disagreement escalates. One reviewer escalates the most ambiguous item outright. An
   expert (``dr-okafor``, admin) settles every escalation with the truth.
3. **One policy run**: the shipped example policy (``data/policies.example.toml``) applied by the lead on
   the run, guardrails respected.
4. **One relabel campaign**: the items of the noisy ``source = fax`` slice that the run flagged or found
   without a consensus and that nobody has acted on, two labels per item from three of the demo's expert
   annotators (each right with their own accuracy from ``demo_annotator_truth``), exported as Label
   Studio tasks, answered, imported back as a Label Studio export and resolved.
5. **Version v2**, "after"; then the flagged suspects nobody acted on go to review for the next round,
   the first of them relabeled by ``rita`` and waiting for a second reviewer.

``History`` reports what was done and the accuracy of both versions against ``demo_truth``: the share of
all demo items whose label is the true one (an item without a label is not right). Its sentence and both
accuracies are kept in ``store_meta`` (``history``, ``history_accuracy_before``, ``..._after``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.remediation import actions, campaigns, policies, queue, versions
from analytics.remediation.roles import Actor, Role
from analytics.store import Store
from analytics.store import demo as demo_store
from analytics.store import remediation as remediation_sql
from analytics.store.review_requests import request_review

__all__ = ["EXAMPLE_POLICIES", "History", "build_history"]

#: The policy file the repository ships; the demo applies it as a team would.
EXAMPLE_POLICIES = Path(__file__).resolve().parents[2] / "data" / "policies.example.toml"
LEAD = Actor("lead", Role.ADMIN)
REVIEWERS = (Actor("rita", Role.REVIEWER), Actor("sam", Role.REVIEWER))
EXPERT = Actor("dr-okafor", Role.ADMIN)
#: How often a reviewer picks the true label.
REVIEWER_ACCURACY = 0.92
#: Suspects sent to review, highest rank first.
REVIEW_ITEMS = 25
#: The campaign's labels are dated in the last days of the demo's period.
CAMPAIGN_DAYS = (dt.datetime(2026, 8, 24), dt.datetime(2026, 8, 31))


@dataclasses.dataclass(frozen=True)
class History:
    """What ``build_history`` did: actions by kind and source, the campaign, and both versions' accuracy
    against the truth."""

    before: str
    after: str
    actions: dict
    campaign_id: str
    accuracy_before: float
    accuracy_after: float
    items_compared: int

    def sentence(self) -> str:
        """The history in one sentence."""
        return (f"Remediation history: {sum(self.actions.values()):,} actions "
                f"({', '.join(f'{n:,} {k}' for k, n in sorted(self.actions.items()))}); labels right "
                f"{self.accuracy_before:.1%} in {self.before} → {self.accuracy_after:.1%} in {self.after} "
                f"({self.items_compared:,} items).")


def build_history(store: Store, *, seed: int = 0) -> History:
    """Play the demo's remediation round on ``store`` (a scored demo store without any action yet)."""
    rng = np.random.default_rng(seed + 4242)
    truth = dict(demo_store.demo_truth(store).itertuples(index=False))
    run_id = remediation_sql.latest_run(store)
    if run_id is None:
        raise ValueError("the demo's remediation history needs a detection run; build the demo first")
    before = versions.create_version(store, LEAD, note="Before remediation: the annotators' consensus")
    _review_round(store, run_id, truth, rng)
    _policy_run(store, run_id)
    campaign_id = _campaign(store, run_id, truth, rng)
    after = versions.create_version(store, LEAD, note="After remediation: review round, policy, fax campaign")
    _next_round(store, run_id, truth, rng)
    compared = _accuracy(store, truth, before["version_id"], after["version_id"])
    done = History(before["version_id"], after["version_id"], demo_store.action_counts(store), campaign_id,
                   *compared)
    demo_store.add_demo_meta(store, {"history": done.sentence(),
                                     "history_accuracy_before": f"{compared[0]:.6f}",
                                     "history_accuracy_after": f"{compared[1]:.6f}"})
    return done


def _review_round(store: Store, run_id: str, truth: dict, rng: np.random.Generator) -> None:
    picked = demo_store.flagged_suspects(store, run_id)[:REVIEW_ITEMS]
    request_review(store, picked, run_id=run_id, cluster_id=None, requested_by=LEAD.name,
                   note="Top of the run's suspects, for the monthly review")
    waiting = queue.review_queue(store, run_id=run_id)
    unsure = waiting.loc[waiting["annotator_prob"].sub(0.5).abs().idxmin(), "item_id"]
    for n, row in enumerate(waiting.itertuples(index=False)):
        reviewer = REVIEWERS[n % 2]
        if row.item_id == unsure:
            actions.act(store, reviewer, row.item_id, "escalate", run_id=run_id, evidence=_evidence(row),
                        rationale=f"{_words(row)}. The votes are split and the image is ambiguous: asking "
                                  "an expert.")
            continue
        _decide(store, reviewer, row, truth, rng, run_id, second=bool(row.needs_second_review))
    for row in queue.review_queue(store, run_id=run_id).itertuples(index=False):
        if row.reason == "second review":
            other = next(r for r in REVIEWERS if r.name != row.first_reviewer)
            _decide(store, other, row, truth, rng, run_id, second=True)
    for row in queue.review_queue(store, run_id=run_id).itertuples(index=False):
        if row.reason == "escalated":
            _decide(store, EXPERT, row, truth, rng, run_id, second=False, accuracy=1.0)


def _next_round(store: Store, run_id: str, truth: dict, rng: np.random.Generator) -> None:
    """What the team left for next time: the flagged suspects nobody acted on, sent to review, one of
    them already relabeled by a reviewer and waiting for its second review."""
    acted = demo_store.acted_items(store)
    left = [i for i in demo_store.flagged_suspects(store, run_id) if i not in acted]
    request_review(store, left, run_id=run_id, cluster_id=None, requested_by=LEAD.name,
                   note="Left for the next review round")
    wrong = [r for r in queue.review_queue(store, run_id=run_id).itertuples(index=False)
             if r.label != truth[r.item_id]]
    if wrong:
        _decide(store, REVIEWERS[0], wrong[0], truth, rng, run_id, second=True, accuracy=1.0)


def _decide(store: Store, reviewer: Actor, row: object, truth: dict, rng: np.random.Generator, run_id: str,
            *, second: bool, accuracy: float = REVIEWER_ACCURACY) -> None:
    shown = row.label if isinstance(row.label, str) else row.suggested_label
    chosen = truth[row.item_id] if rng.random() < accuracy else shown
    if chosen == row.label:
        kind, why = "confirm", f"{_words(row)}. Checked the image: it is a {chosen}; the label stands."
    else:
        kind, why = "relabel", f"{_words(row)}. Checked the image: it is a {chosen}."
    actions.act(store, reviewer, row.item_id, kind, to_label=chosen if kind == "relabel" else None,
                run_id=run_id, evidence=_evidence(row), rationale=why,
                second_review=second and kind == "relabel")


def _words(row: object) -> str:
    model = row.model_suggested_prob
    return (f"P(wrong) {row.p_wrong:.2f}, suggested {row.suggested_label}"
            + ("" if model != model else f", the model gives it {model:.2f}"))


def _evidence(row: object) -> dict:
    prob = row.annotator_prob
    return {"p_wrong": float(row.p_wrong), "impact": float(row.impact),
            "suggested_label": row.suggested_label, "annotator_prob": None if prob != prob else float(prob)}


def _policy_run(store: Store, run_id: str) -> None:
    for policy in policies.load_policies(EXAMPLE_POLICIES):
        preview = policies.dry_run(store, policy, run_id)
        if not preview.blocked and len(preview.changes):
            policies.apply(store, LEAD, policy, run_id, preview=preview)


def _campaign(store: Store, run_id: str, truth: dict, rng: np.random.Generator) -> str:
    acted = demo_store.acted_items(store)
    fax = campaigns.slice_selection(store, "source", "fax", run_id, unresolved=True)
    chosen = campaigns.selection(store, [i for i in fax.items if i not in acted], run_id=run_id,
                                 source="the fax slice's flagged suspects and items without a "
                                 "consensus that nobody had reviewed")
    accuracy = demo_store.best_experts(store, 3)
    campaign_id = campaigns.create_campaign(
        store, LEAD, "Fax slice: second look", chosen, assignees=list(accuracy), labels_per_item=2,
        due_at=dt.date(2026, 9, 15), note="Label the digit you see; the suggestion is the model's opinion.")
    labels = sorted(set(truth.values()))
    start, end = (t.timestamp() for t in CAMPAIGN_DAYS)
    export = []
    for n, task in enumerate(campaigns.label_studio_tasks(store, campaign_id)):
        item = task["data"]["item_id"]
        answers = []
        for who in task["meta"]["assignees"]:
            right = rng.random() < accuracy[who]
            label = truth[item] if right else rng.choice([x for x in labels if x != truth[item]])
            at = dt.datetime.fromtimestamp(rng.uniform(start, end), dt.UTC).replace(microsecond=0)
            answers.append({"completed_by": who, "created_at": at.isoformat().replace("+00:00", "Z"),
                            "lead_time": round(float(rng.lognormal(2.3, 0.4)), 1),
                            "result": [{"from_name": campaigns.LABEL_CONTROL, "to_name": "text",
                                        "type": "choices", "value": {"choices": [str(label)]}}]})
        export.append({"id": 70_000 + n, "data": task["data"], "meta": task["meta"], "annotations": answers})
    with tempfile.TemporaryDirectory(prefix="labelwatch-demo-") as folder:
        path = Path(folder) / "label-studio-export.json"
        path.write_text(json.dumps(export), encoding="utf-8")
        campaigns.import_labels(store, LEAD, campaign_id, path, name="label-studio-export-fax-campaign.json")
    campaigns.resolve(store, LEAD, campaign_id)
    return campaign_id


def _accuracy(store: Store, truth: dict, before: str, after: str) -> tuple[float, float, int]:
    """The share of all demo items whose label in each version is the truth (an item without a label
    counts as not right)."""
    items = pd.Index(sorted(truth), name="item_id")
    right = items.map(truth)
    shares = []
    for version in (before, after):
        labels = versions.version_labels(store, version).set_index("item_id")["label"].reindex(items)
        shares.append(float((labels == right).mean()))
    return shares[0], shares[1], len(items)
