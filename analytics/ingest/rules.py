"""Declarative label rules: the rules file the user edits, read and checked before anything runs.

A rules file is TOML with one ``[[rule]]`` table per rule. Every rule has an ``id`` (unique in the file, e.g.
``"R1"``), a ``kind`` and a ``description`` in plain words for the people who read the warnings; the other
fields depend on the kind:

``vocabulary``
    Every label given must be one of ``labels = [...]``, or with ``from_store = true`` one of the store's
    ``label_schema`` (a store without a vocabulary checks nothing).
``hierarchy``
    The labels that annotators gave the same item must share one parent: ``parents = {child = "parent", ...}``
    inline, or ``from_store = true`` for the store's ``label_schema.parent``. A label without a parent stands
    for its own group, so a top-level label and its children are consistent.
``impossible``
    No two of ``labels = [...]`` (at least two) may be given to the same item, by any of its annotators.
``contextual``
    ``label = "..."`` (or ``labels = [...]``) is not allowed on items whose ``attribute`` (a slice attribute
    such as ``"source"``) is one of ``values``; with ``allowed = true`` it is allowed only there (an item
    without the attribute is not "there"). ``field = "guideline_version"`` instead of ``attribute`` takes
    the context from each event's guideline version.

Rule violations are warnings, never rejects: a label that breaks a rule may still be what the annotator gave,
and LabelWatch keeps every event. The checks themselves run in DuckDB (``analytics.store.rules``), over the
store and over a staged import (``analytics.ingest.pipeline.prepare(..., rules=...)``).
``data/rules.example.toml``
is a commented example written for the demo.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Rule kinds, in the order the documentation lists them.
RULE_KINDS = ("vocabulary", "hierarchy", "impossible", "contextual")

#: Event fields a contextual rule may take its context from (``field = ...``), each a fixed store column.
CONTEXT_FIELDS = ("guideline_version",)

#: The rules file looked for next to the store file when ``LABELWATCH_RULES`` is not set.
RULES_FILE_NAME = "rules.toml"

_COMMON_FIELDS = ("id", "kind", "description")
_KIND_FIELDS = {
    "vocabulary": ("labels", "from_store"),
    "hierarchy": ("parents", "from_store"),
    "impossible": ("labels",),
    "contextual": ("label", "labels", "attribute", "field", "values", "allowed"),
}


@dataclass(frozen=True)
class Rule:
    """One checked rule of a rules file.

    Attributes
    ----------
    id, kind, description : str
        The rule's id (unique in its file), one of ``RULE_KINDS``, and the plain-words explanation.
    labels : tuple of str
        vocabulary: the allowed labels; impossible: the labels that exclude each other; contextual: the
        labels the context constrains (a single ``label`` becomes a 1-tuple). Empty otherwise.
    from_store : bool
        vocabulary and hierarchy: take the labels or parents from the store's ``label_schema``.
    parents : tuple of (str, str)
        hierarchy: the inline ``(child, parent)`` pairs, sorted by child; empty with ``from_store``.
    attribute, field : str or None
        contextual: the item attribute, or the event field (one of ``CONTEXT_FIELDS``), giving the context.
    values : tuple of str
        contextual: the context values the rule names.
    allowed : bool
        contextual: False means the labels are not allowed in those contexts, True means only there.
    """

    id: str
    kind: str
    description: str
    labels: tuple[str, ...] = ()
    from_store: bool = False
    parents: tuple[tuple[str, str], ...] = ()
    attribute: str | None = None
    field: str | None = None
    values: tuple[str, ...] = ()
    allowed: bool = False

    @property
    def context(self) -> str | None:
        """contextual: the name of the context (the attribute or the event field)."""
        return self.attribute or self.field


@dataclass(frozen=True)
class RuleSet:
    """The rules of one file, in file order, with where they came from.

    Attributes
    ----------
    rules : tuple of Rule
    source : str
        The file's path, or the name given to TOML text.
    """

    rules: tuple[Rule, ...]
    source: str

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)


def load_rules(source: str | Path, *, name: str | None = None) -> RuleSet:
    """Read and check a rules file (or TOML text).

    Parameters
    ----------
    source : str or Path
        A ``Path``, or a ``str`` without a line break: the rules file. A ``str`` with a line break: the TOML
        text itself.
    name : str or None
        The name used in messages and ``RuleSet.source``; defaults to the path, or ``"<rules text>"``.

    Returns
    -------
    RuleSet
        The rules in file order (an empty file gives an empty set).

    Raises
    ------
    ValueError
        The file cannot be read, is not TOML, or a rule is wrong: the message names the file, the rule (its
        1-based position and its id) and the field, e.g. ``rules.toml: rule 2 (id 'R2'): field 'labels':
        expected at least 2 different labels (text, quoted), got ['0']``.

    Examples
    --------
    >>> rules = load_rules('''
    ... [[rule]]
    ... id = "R3"
    ... kind = "contextual"
    ... description = "Fax forms hold no zeros."
    ... label = "0"
    ... attribute = "source"
    ... values = ["fax"]
    ... ''', name="rules.toml")
    >>> rules.source, rules.rules[0].labels, rules.rules[0].allowed
    ('rules.toml', ('0',), False)
    >>> load_rules('[[rule]]\\nid = "R1"\\nkind = "vocab"\\ndescription = "x"\\n', name="rules.toml")
    Traceback (most recent call last):
    ...
    ValueError: rules.toml: rule 1 (id 'R1'): field 'kind': expected one of vocabulary, hierarchy, \
impossible, contextual, got 'vocab'
    """
    if isinstance(source, str) and "\n" in source:
        where, text = name or "<rules text>", source
    else:
        where = name or str(source)
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{where}: cannot read the rules file ({exc})") from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: not valid TOML: {exc}") from exc
    unknown = sorted(set(document) - {"rule"})
    if unknown:
        raise ValueError(f"{where}: unknown top-level key {unknown[0]!r}; expected only [[rule]] tables")
    tables = document.get("rule", [])
    if not isinstance(tables, list):
        raise ValueError(f"{where}: 'rule' must be an array of tables ([[rule]]), got a single [rule] table")
    rules: list[Rule] = []
    first_index: dict[str, int] = {}
    for index, table in enumerate(tables, start=1):
        rule = _parse_rule(table, _Where(where, index, table.get("id") if isinstance(table, dict) else None))
        if rule.id in first_index:
            raise _Where(where, index, rule.id).error(
                "id", f"an id no other rule has, got the id of rule {first_index[rule.id]}"
            )
        first_index[rule.id] = index
        rules.append(rule)
    return RuleSet(tuple(rules), where)


def find_rules_file(db_path: str | Path | None) -> Path | None:
    """The rules file of a store: ``$LABELWATCH_RULES``, else ``rules.toml`` beside the store, else None.

    A path named by the environment variable is returned even when missing, so that ``load_rules`` says the
    configured file cannot be read instead of the rules being silently skipped.

    Parameters
    ----------
    db_path : str, Path or None
        The store file (``":memory:"`` and None have no folder to look in).

    Examples
    --------
    With ``data/rules.toml`` present::

        find_rules_file("data/labelwatch.duckdb")  # PosixPath('data/rules.toml')
    """
    configured = os.environ.get("LABELWATCH_RULES", "").strip()
    if configured:
        return Path(configured)
    if db_path is None or str(db_path) == ":memory:":
        return None
    candidate = Path(db_path).parent / RULES_FILE_NAME
    return candidate if candidate.is_file() else None


# --- private helpers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """The position of a rule in its file, for messages that name file, rule and field."""

    source: str
    index: int
    rule_id: Any

    def error(self, field: str, expected: str) -> ValueError:
        who = f"id {self.rule_id!r}" if isinstance(self.rule_id, str) and self.rule_id else "no id"
        return ValueError(f"{self.source}: rule {self.index} ({who}): field {field!r}: expected {expected}")


def _parse_rule(table: Any, where: _Where) -> Rule:
    if not isinstance(table, dict):
        raise where.error("rule", f"a [[rule]] table, got {table!r}")
    for field in _COMMON_FIELDS:
        if field not in table:
            raise where.error(field, "a value (every rule needs id, kind and description), got nothing")
        _text(table, field, where)
    kind = table["kind"]
    if kind not in RULE_KINDS:
        raise where.error("kind", f"one of {', '.join(RULE_KINDS)}, got {kind!r}")
    known = (*_COMMON_FIELDS, *_KIND_FIELDS[kind])
    for field in table:
        if field not in known:
            raise where.error(field, f"a field of a {kind} rule ({', '.join(known)}), got an unknown field")
    common = dict(id=table["id"], kind=kind, description=table["description"])
    return _PARSERS[kind](table, where, common)


def _vocabulary(table: dict, where: _Where, common: dict) -> Rule:
    from_store = _one_source(table, where, "labels")
    labels = () if from_store else _labels(table, "labels", where, minimum=1)
    return Rule(**common, labels=labels, from_store=from_store)


def _hierarchy(table: dict, where: _Where, common: dict) -> Rule:
    if _one_source(table, where, "parents"):
        return Rule(**common, from_store=True)
    parents = table["parents"]
    if not isinstance(parents, dict) or not parents or not all(map(_is_text, parents.values())):
        raise where.error("parents", f"a table of child = \"parent\" labels (text), got {parents!r}")
    return Rule(**common, parents=tuple(sorted(parents.items())))


def _impossible(table: dict, where: _Where, common: dict) -> Rule:
    return Rule(**common, labels=_labels(table, "labels", where, minimum=2))


def _contextual(table: dict, where: _Where, common: dict) -> Rule:
    if _exactly_one(table, where, ("label", "labels")) == "label":
        labels = (_text(table, "label", where),)
    else:
        labels = _labels(table, "labels", where, minimum=1)
    context = _exactly_one(table, where, ("attribute", "field"))
    name = _text(table, context, where)
    if context == "field" and name not in CONTEXT_FIELDS:
        raise where.error("field", f"one of {', '.join(CONTEXT_FIELDS)}, got {name!r}")
    if "values" not in table:
        raise where.error("values", "a list of context values, got nothing")
    allowed = table.get("allowed", False)
    if not isinstance(allowed, bool):
        raise where.error("allowed", f"true or false, got {allowed!r}")
    return Rule(
        **common,
        labels=labels,
        attribute=name if context == "attribute" else None,
        field=name if context == "field" else None,
        values=_labels(table, "values", where, minimum=1, what="values"),
        allowed=allowed,
    )


_PARSERS = {
    "vocabulary": _vocabulary,
    "hierarchy": _hierarchy,
    "impossible": _impossible,
    "contextual": _contextual,
}


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _text(table: dict, field: str, where: _Where) -> str:
    value = table[field]
    if not _is_text(value):
        raise where.error(field, f"non-empty text, got {value!r}")
    return value


def _labels(table: dict, field: str, where: _Where, *, minimum: int, what: str = "labels") -> tuple[str, ...]:
    value = table.get(field)
    if not isinstance(value, list) or not all(map(_is_text, value)) or len(set(value)) < minimum:
        need = f"at least {minimum} different {what}" if minimum > 1 else f"a non-empty list of {what}"
        raise where.error(field, f"{need} (text, quoted), got {value!r}")
    return tuple(dict.fromkeys(value))


def _one_source(table: dict, where: _Where, inline: str) -> bool:
    """vocabulary and hierarchy: True for ``from_store = true``, False for the inline field."""
    from_store = table.get("from_store", False)
    if not isinstance(from_store, bool):
        raise where.error("from_store", f"true or false, got {from_store!r}")
    if from_store == (inline in table):
        raise where.error(inline, f"either {inline} = ... or from_store = true (exactly one)")
    return from_store


def _exactly_one(table: dict, where: _Where, fields: tuple[str, str]) -> str:
    present = [field for field in fields if field in table]
    if len(present) != 1:
        got = "both" if present else "neither"
        raise where.error(fields[0], f"either {fields[0]} or {fields[1]} (exactly one), got {got}")
    return present[0]
