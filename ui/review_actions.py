"""The Review page's decisions: the evidence in words (the rationale a reviewer starts from), the one-key
actions, and recording a decision before moving on to the next item of the queue.

Streamlit reserves the keys C and R (clear the cache, rerun), so *confirm* is K (keep the label) and
*relabel as suggested* is S. A one-key shortcut never fires while a text box has the focus: a reviewer
types the rationale, clicks outside it (or presses Tab), then presses the key.

A decision belongs to the item the reviewer saw. The run a press starts reads the queue afresh, and other
sessions may have changed it since the page was drawn (the item decided, the rows moved), so the page
keeps the row it showed (``remember``) and the press acts on that row with the form's values as sent
(``Seen``), never on whatever row now sits at its place; the row's ``last_seq`` goes to the engine as
``seen_seq``, which refuses the decision when the item changed since (``actions.ItemChanged``).
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from analytics.remediation import actions
from analytics.remediation.roles import Actor, PermissionDenied
from ui import loaders
from ui import store as app_store
from ui.safe_text import md


@dataclasses.dataclass(frozen=True)
class Key:
    """One one-key action: what it does (``next`` or an action kind), its key and its words."""

    kind: str
    shortcut: str
    words: str


#: The one-key actions, in the order the page shows them.
KEYS = (
    Key("next", "N", "next item"),
    Key("confirm", "K", "confirm (keep the label)"),
    Key("relabel", "S", "relabel as suggested"),
    Key("escalate", "E", "escalate to an expert"),
)

#: The keys in words, for the page's caption.
KEYS_WORDS = (
    "One key acts with the rationale above and opens the next item: "
    + " · ".join(f"**{k.shortcut}** {k.words}" for k in KEYS)
    + ". Keys do nothing while a text box has the focus: click outside it (or press Tab) first."
)


#: Session-state keys: the row shown, and the form's decision, target and rationale.
SHOWN_ROW = "review.shown_row"
FORM_KEYS = ("review.kind", "review.target", "review.rationale")


@dataclasses.dataclass(frozen=True)
class Seen:
    """What a reviewer acted on: the queue row the page showed them and the form's values they sent."""

    row: dict
    kind: str | None
    target: str | None
    rationale: str


def remember(item: pd.Series) -> None:
    """Keep ``item`` (the queue row the page shows) for the decision a press in the next run makes."""
    st.session_state[SHOWN_ROW] = item.to_dict()


def seen() -> Seen | None:
    """The row shown by the previous run and the form's values as sent, read before the page draws anything
    (drawing the next item resets the form); None before any row was shown."""
    row = st.session_state.get(SHOWN_ROW)
    if row is None:
        return None
    kind, target, rationale = (st.session_state.get(k) for k in FORM_KEYS)
    return Seen(row, kind, target, rationale or "")


def text(value: object) -> str | None:
    """A stored string, or None for a missing one (None or NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


def evidence_words(item: pd.Series, explanation: str | None) -> str:
    """The evidence a reviewer sees, in words: the default rationale of a decision on ``item`` (a row of
    the review queue); ``explanation`` is the detection run's (``suspects.explanation``)."""
    suggested = text(item["suggested_label"])
    if suggested is None:
        return "Not scored by the latest detection run; " + str(item["why"])
    words = f"P(wrong) {item['p_wrong']:.2f}; suggested {suggested}"
    if explanation:
        return f"{words}. Evidence: {explanation}"
    model = item["model_suggested_prob"]
    return words + ("" if model is None or model != model else f"; the model gives it {model:.2f}")


def following(ids: list[str], current: str) -> str | None:
    """The item after ``current`` in the queue ``ids`` (the first after the last); None when it is alone."""
    if current not in ids:
        return ids[0] if ids else None
    if len(ids) < 2:
        return None
    return ids[(ids.index(current) + 1) % len(ids)]


def record(me: Actor, item: pd.Series | dict, kind: str, *, rationale: str, to_label: str | None,
           run_id: str | None) -> str | None:
    """Record ``kind`` on ``item`` (the row of the review queue the reviewer saw) by ``me`` through the
    engine, which checks the role, the rationale and that the item did not change since the row was read
    (its ``last_seq``); return what was recorded in words (Markdown), or None after showing why not. When
    the item changed since, the page runs again on the queue as it is now, saying so
    (``review.stale``).

    A relabel of an item that needs a second review is recorded as the first of two (the engine also
    makes any relabel or confirm the second review of a relabel waiting for one).
    """
    try:
        written = actions.act(
            app_store.current(), me, str(item["item_id"]), kind, rationale=rationale,
            to_label=to_label if kind == "relabel" else None, run_id=run_id,
            evidence={"p_wrong": float(item["p_wrong"]), "impact": float(item["impact"]),
                      "suggested_label": text(item["suggested_label"]), "run_id": run_id},
            second_review=bool(item["needs_second_review"]) and kind == "relabel",
            seen_seq=int(item["last_seq"]),
        )
    except actions.ItemChanged as exc:
        # This run's queue was read before the change: read it again and show the item as it is now.
        loaders.clear()
        st.session_state["review.stale"] = md(exc)
        st.session_state["review.goto"] = str(item["item_id"])
        st.rerun()
    except (actions.ActionError, PermissionDenied) as exc:
        st.error(md(exc), icon=":material/block:")
        return None
    loaders.clear()
    words = ", ".join(f"{w.action} {w.item_id}" + (f" to {w.to_label}" if w.action == "relabel" else "")
                      for w in written.itertuples())
    waits = " It takes effect when a second reviewer agrees." if written["second_review"].any() else ""
    return f"Recorded: {md(words)}.{waits}"
