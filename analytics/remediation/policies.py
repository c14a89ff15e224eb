"""Auto-correction policies: declared, named, versioned rules that relabel items a detection run is sure of.

A policy file is TOML with one ``[[policy]]`` table per policy::

    [[policy]]
    name = "sure-consensus"
    version = 1
    description = "Annotators and model agree on another label"
    action = "relabel"                       # to the run's suggested label ("exclude" / "escalate" too)
    when = ["status == mislabeled", "annotator_prob >= 0.95", "model_suggested_prob >= 0.9",
            "n_ratings >= 3"]
    max_changed_share = 0.02                 # guardrail: at most 2% of the items in one run
    max_class_shrink = 0.10                  # guardrail: no class loses more than 10% of its items

Each condition is ``field op value`` over what a detection run stored for the item (``FIELDS``); the
conditions are ANDed and compiled to parameterised SQL, so a run over a million items is one query.

**Dry run** (``dry_run``): which items would change, from what to what, the class-distribution effect
and the slices touched; nothing is written. **Guardrails** block ``apply`` when a run would change more
than ``max_changed_share`` of the items or shrink a class by more than ``max_class_shrink`` of its items,
unless an admin confirms with a reason (recorded in each action's evidence). **Apply** writes one action
per item, all in one transaction, with ``name@version`` as the policy and the run's evidence.

Only items whose resolved label is still the run's given label are touched: an item a reviewer already
relabeled, or that an earlier policy run changed, is left alone.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analytics.remediation.actions import ActionError, ItemChanged, act_many
from analytics.remediation.roles import Actor, Role, require
from analytics.store import Store
from analytics.store import remediation as sql

__all__ = ["FIELDS", "Condition", "DryRun", "Policy", "PolicyError", "apply", "dry_run", "load_policies"]

#: What a condition can test: stored signal name → (kind, meaning).
FIELDS = {
    "score": ("number", "the run's suspect score: log10 odds that the given label is wrong"),
    "status": ("text", "mislabeled, no_consensus or ok"),
    "annotator_prob": ("number", "the annotators' posterior for the suggested label (Dawid-Skene)"),
    "model_suggested_prob": ("number", "the model's probability of the suggested label"),
    "model_prob": ("number", "the model's probability of the given label"),
    "n_ratings": ("number", "how many annotators labeled the item"),
    "votes_given": ("number", "annotators who gave the given label"),
    "votes_suggested": ("number", "annotators who gave the suggested label"),
    "neighbour_share": ("number", "share of similar items carrying the given label"),
}
ACTIONS = ("relabel", "exclude", "escalate")
_CONDITION = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$")


class PolicyError(ValueError):
    """A policy file or policy that cannot be used; the message names the file, policy and entry."""


@dataclasses.dataclass(frozen=True)
class Condition:
    """``field op value``."""

    field: str
    op: str
    value: float | str

    def __str__(self) -> str:
        value = f"{self.value:g}" if isinstance(self.value, float) else self.value
        return f"{self.field} {self.op} {value}"


@dataclasses.dataclass(frozen=True)
class Policy:
    """One declared policy (see the module docstring)."""

    name: str
    version: int
    action: str
    when: tuple[Condition, ...]
    description: str = ""
    max_changed_share: float = 0.05
    max_class_shrink: float = 0.2

    @property
    def ref(self) -> str:
        """``name@version``, as recorded with every action the policy writes."""
        return f"{self.name}@{self.version}"

    def words(self) -> str:
        """The policy in one sentence."""
        verb = {"relabel": "relabel to the suggested label", "exclude": "exclude from training",
                "escalate": "escalate to an expert"}[self.action]
        return f"{self.ref}: {verb} items where " + " and ".join(str(c) for c in self.when) + "."


def _condition(text: object, where: str) -> Condition:
    match = _CONDITION.match(str(text))
    if match is None:
        raise PolicyError(f"{where}: cannot read the condition {text!r}; write `field op value`, e.g. "
                          "`model_suggested_prob >= 0.9`.")
    field, op, raw = match.groups()
    if field not in FIELDS:
        raise PolicyError(f"{where}: unknown field {field!r} in {text!r}; fields: {', '.join(FIELDS)}.")
    if FIELDS[field][0] == "text":
        if op not in ("==", "!="):
            raise PolicyError(f"{where}: {field} is text; compare it with == or !=.")
        return Condition(field, op, raw.strip().strip("'\""))
    try:
        return Condition(field, op, float(raw))
    except ValueError:
        raise PolicyError(f"{where}: {field} is a number; {raw!r} is not.") from None


def _share(value: object, where: str, key: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not 0 <= number <= 1:
        raise PolicyError(f"{where}: {key} must be a share between 0 and 1, not {value!r}.")
    return number


def parse_policies(text: str, source: str = "policies") -> list[Policy]:
    """Policies from TOML text (see the module docstring); ``source`` names it in errors."""
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source} is not valid TOML: {exc}") from None
    tables = config.get("policy")
    if not isinstance(tables, list) or not tables:
        raise PolicyError(f"{source} declares no policy: add a [[policy]] table.")
    policies, seen = [], set()
    for i, table in enumerate(tables, start=1):
        where = f"{source}, policy {i}"
        name = str(table.get("name") or "").strip()
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise PolicyError(f"{where}: needs a name of letters, digits, '-', '_' or '.'.")
        where = f"{source}, policy {name!r}"
        version = table.get("version")
        if not isinstance(version, int) or version < 1:
            raise PolicyError(f"{where}: version must be a whole number from 1.")
        action = str(table.get("action", "relabel"))
        if action not in ACTIONS:
            raise PolicyError(f"{where}: action must be one of {', '.join(ACTIONS)}.")
        when = table.get("when")
        if not isinstance(when, list) or not when:
            raise PolicyError(f"{where}: `when` must list at least one condition.")
        if (name, version) in seen:
            raise PolicyError(f"{where}: version {version} is declared twice.")
        seen.add((name, version))
        policies.append(Policy(
            name=name, version=version, action=action, when=tuple(_condition(c, where) for c in when),
            description=str(table.get("description", "")),
            max_changed_share=_share(table.get("max_changed_share", 0.05), where, "max_changed_share"),
            max_class_shrink=_share(table.get("max_class_shrink", 0.2), where, "max_class_shrink"),
        ))
    return policies


def load_policies(path: str | Path) -> list[Policy]:
    """The policies of a TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"There is no policy file {path}.") from None
    return parse_policies(text, path.name)


@dataclasses.dataclass(frozen=True)
class DryRun:
    """What applying a policy to a run would do; nothing was written."""

    policy: Policy
    run_id: str
    items_in_run: int
    changes: pd.DataFrame  # item_id, from_label, to_label, score, evidence columns
    classes: pd.DataFrame  # label, before, after, change, shrink
    slices: pd.DataFrame  # key, value, items
    blocked: tuple[str, ...]  # guardrails the run breaks, in words

    @property
    def share(self) -> float:
        """Share of the run's items that would change."""
        return len(self.changes) / self.items_in_run if self.items_in_run else 0.0

    def verdict(self) -> str:
        """The dry run in one or two sentences."""
        head = (f"{self.policy.ref} would {self.policy.action} {len(self.changes):,} of "
                f"{self.items_in_run:,} items ({self.share:.1%}) of run {self.run_id}.")
        if self.blocked:
            return head + " Blocked by its guardrails: " + "; ".join(self.blocked) + "."
        return head + " Within its guardrails."


def dry_run(store: Store, policy: Policy, run_id: str) -> DryRun:
    """What ``policy`` would change on the items of detection run ``run_id`` (reads only)."""
    if not sql.run_exists(store, run_id):
        raise PolicyError(f"There is no detection run {run_id!r}.")
    conditions = [(c.field, c.op, c.value) for c in policy.when]
    changes = sql.policy_candidates(store, run_id, conditions)
    if policy.action != "relabel":
        changes["to_label"] = None
    total = sql.run_item_count(store, run_id)
    classes = sql.class_counts(store)
    moved_out = changes.groupby("from_label").size() if policy.action != "escalate" else pd.Series(dtype=int)
    moved_in = (changes.groupby("to_label").size() if policy.action == "relabel" else pd.Series(dtype=int))
    classes["after"] = (classes["before"] - classes["label"].map(moved_out).fillna(0)
                        + classes["label"].map(moved_in).fillna(0)).astype(int)
    classes["change"] = classes["after"] - classes["before"]
    classes["shrink"] = (-classes["change"]).clip(lower=0) / classes["before"].where(classes["before"] > 0)
    blocked = []
    share = len(changes) / total if total else 0.0
    if share > policy.max_changed_share:
        blocked.append(f"it changes {share:.1%} of the items, more than the {policy.max_changed_share:.0%} "
                       "allowed")
    for row in classes[classes["shrink"] > policy.max_class_shrink].itertuples():
        blocked.append(f"class {row.label} would shrink by {row.shrink:.0%} "
                       f"({row.before:,} → {row.after:,}), "
                       f"more than the {policy.max_class_shrink:.0%} allowed")
    slices = sql.slices_of(store, changes["item_id"].tolist())
    return DryRun(policy, run_id, total, changes, classes, slices, tuple(blocked))


def apply(store: Store, actor: Actor, policy: Policy, run_id: str, *, confirm_reason: str | None = None,
          preview: DryRun | None = None) -> pd.DataFrame:
    """Apply ``policy`` to run ``run_id`` (admins only): one action per changed item, in one transaction.

    A run its guardrails block needs ``confirm_reason`` (recorded in each action's evidence). ``preview``
    is the dry run the admin saw; the items are recomputed and must be the same, so nothing is applied
    that was not previewed, and none of them may have been acted on since (``actions.ItemChanged``: a
    reviewer's decision made after the dry run is never overridden). Returns the actions written.
    """
    require(actor, Role.ADMIN, "run a correction policy")
    result = dry_run(store, policy, run_id)
    if preview is not None and sorted(preview.changes["item_id"]) != sorted(result.changes["item_id"]):
        raise ActionError("The store changed since the dry run: run it again and review the new list.")
    confirm_reason = (confirm_reason or "").strip()
    if result.blocked and not confirm_reason:
        raise ActionError("The guardrails block this run (" + "; ".join(result.blocked) + "); an admin can "
                          "override them with a reason.")
    seen = (preview or result).changes.set_index("item_id")["last_seq"]
    rows = []
    for r in result.changes.itertuples(index=False):
        evidence = {"run_id": run_id, "score": r.score, "annotator_prob": r.annotator_prob,
                    "model_suggested_prob": r.model_suggested_prob, "n_ratings": r.n_ratings,
                    "votes_given": r.votes_given, "votes_suggested": r.votes_suggested}
        if result.blocked:
            evidence["guardrails_overridden"] = {"blocked": list(result.blocked), "reason": confirm_reason}
        rows.append({"item_id": r.item_id, "action": policy.action, "to_label": r.to_label, "run_id": run_id,
                     "evidence": evidence, "rationale": policy.words(), "seen_seq": int(seen[r.item_id])})
    try:
        return act_many(store, actor, rows, policy=policy.ref, role=Role.ADMIN)
    except ItemChanged as exc:
        raise ActionError(f"The store changed since the dry run: run it again and review the new list. "
                          f"({exc})") from exc


def policy_history(store: Store, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Past policy applications: ``policy, run_id, actor, applied_at, items`` newest first."""
    return sql.policy_runs(store, list(names) if names else None)
