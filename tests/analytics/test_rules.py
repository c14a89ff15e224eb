"""The rules file: every kind parses into a ``Rule``, every mistake names file, rule and field."""

from __future__ import annotations

import pathlib

import pytest

from analytics.ingest.rules import RULE_KINDS, Rule, RuleSet, find_rules_file, load_rules

ROOT = pathlib.Path(__file__).resolve().parents[2]

ALL_KINDS = """
[[rule]]
id = "R1"
kind = "vocabulary"
description = "Digits only."
labels = ["0", "1", "1"]

[[rule]]
id = "R1b"
kind = "vocabulary"
description = "The store's vocabulary."
from_store = true

[[rule]]
id = "R2"
kind = "hierarchy"
description = "One shape per item."
parents = { "1" = "straight", "0" = "round" }

[[rule]]
id = "R2b"
kind = "hierarchy"
description = "The store's hierarchy."
from_store = true

[[rule]]
id = "R3"
kind = "impossible"
description = "Never both."
labels = ["0", "1"]

[[rule]]
id = "R4"
kind = "contextual"
description = "No 0 on fax."
label = "0"
attribute = "source"
values = ["fax"]

[[rule]]
id = "R5"
kind = "contextual"
description = "7 and 1 only under v2."
labels = ["7", "1"]
field = "guideline_version"
values = ["v2"]
allowed = true
"""


def test_every_kind_parses_into_a_rule_in_file_order():
    rules = load_rules(ALL_KINDS, name="rules.toml")
    assert rules.source == "rules.toml"
    assert rules.ids == ("R1", "R1b", "R2", "R2b", "R3", "R4", "R5")
    assert len(rules) == 7 and [rule.id for rule in rules] == list(rules.ids)
    assert list(rules) == [
        # A repeated label is kept once.
        Rule("R1", "vocabulary", "Digits only.", labels=("0", "1")),
        Rule("R1b", "vocabulary", "The store's vocabulary.", from_store=True),
        # Parents are sorted by child, so equal tables give equal rules.
        Rule("R2", "hierarchy", "One shape per item.", parents=(("0", "round"), ("1", "straight"))),
        Rule("R2b", "hierarchy", "The store's hierarchy.", from_store=True),
        Rule("R3", "impossible", "Never both.", labels=("0", "1")),
        # A single label becomes a 1-tuple; allowed defaults to false.
        Rule("R4", "contextual", "No 0 on fax.", labels=("0",), attribute="source", values=("fax",)),
        Rule(
            "R5", "contextual", "7 and 1 only under v2.", labels=("7", "1"), field="guideline_version",
            values=("v2",), allowed=True,
        ),
    ]
    assert [rule.context for rule in rules][-2:] == ["source", "guideline_version"]
    assert {rule.kind for rule in rules} == set(RULE_KINDS)


def test_a_file_is_read_and_named_by_its_path(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(ALL_KINDS, encoding="utf-8")
    assert load_rules(path) == load_rules(str(path)) == RuleSet(load_rules(ALL_KINDS).rules, str(path))


def test_text_without_a_name_is_called_rules_text_and_an_empty_file_has_no_rules():
    rules = load_rules("# nothing yet\n")
    assert (rules.rules, rules.source) == ((), "<rules text>")


def test_the_example_file_has_one_rule_of_each_kind():
    rules = load_rules(ROOT / "data" / "rules.example.toml")
    assert [(rule.id, rule.kind) for rule in rules] == [
        ("R1", "vocabulary"), ("R2", "hierarchy"), ("R3", "impossible"), ("R4", "contextual")
    ]
    # The demo's ten digits, each under one of three shapes.
    parents = dict(rules.rules[1].parents)
    assert sorted(parents) == [str(d) for d in range(10)]
    assert set(parents.values()) == {"round", "straight", "curved"}


def rule(body: str, *, id_line: str = 'id = "R7"') -> str:
    """A file whose second rule (id R7 unless ``id_line`` says otherwise) has ``body`` after its id."""
    first = '[[rule]]\nid = "R1"\nkind = "impossible"\ndescription = "d"\nlabels = ["a", "b"]\n'
    return first + "[[rule]]\n" + id_line + "\n" + body


def message(field: str, expected: str, who: str = "id 'R7'") -> str:
    return f"rules.toml: rule 2 ({who}): field '{field}': expected {expected}"


BAD_RULES = [
    pytest.param(
        rule('description = "d"\n'),
        message("kind", "a value (every rule needs id, kind and description), got nothing"),
        id="missing kind",
    ),
    pytest.param(
        rule('kind = "impossible"\nlabels = ["a", "b"]\n'),
        message("description", "a value (every rule needs id, kind and description), got nothing"),
        id="missing description",
    ),
    pytest.param(
        rule('kind = "impossible"\ndescription = "d"\nlabels = ["a", "b"]\n', id_line=""),
        message("id", "a value (every rule needs id, kind and description), got nothing", who="no id"),
        id="missing id",
    ),
    pytest.param(
        rule('kind = "impossible"\ndescription = "d"\nlabels = ["a", "b"]\n', id_line="id = 7"),
        message("id", "non-empty text, got 7", who="no id"),
        id="id of the wrong type",
    ),
    pytest.param(
        rule('kind = "impossible"\ndescription = "d"\nlabels = ["a", "b"]\n', id_line='id = "R1"'),
        message("id", "an id no other rule has, got the id of rule 1", who="id 'R1'"),
        id="duplicate id",
    ),
    pytest.param(
        rule('kind = "vocab"\ndescription = "d"\n'),
        message("kind", "one of vocabulary, hierarchy, impossible, contextual, got 'vocab'"),
        id="unknown kind",
    ),
    pytest.param(
        rule('kind = "vocabulary"\ndescription = "d"\nlables = ["a"]\n'),
        message(
            "lables",
            "a field of a vocabulary rule (id, kind, description, labels, from_store), got an unknown field",
        ),
        id="unknown field",
    ),
    pytest.param(
        rule('kind = "vocabulary"\ndescription = "d"\n'),
        message("labels", "either labels = ... or from_store = true (exactly one)"),
        id="vocabulary without labels",
    ),
    pytest.param(
        rule('kind = "vocabulary"\ndescription = "d"\nlabels = ["a"]\nfrom_store = true\n'),
        message("labels", "either labels = ... or from_store = true (exactly one)"),
        id="vocabulary with labels and from_store",
    ),
    pytest.param(
        rule('kind = "vocabulary"\ndescription = "d"\nfrom_store = "yes"\n'),
        message("from_store", "true or false, got 'yes'"),
        id="from_store of the wrong type",
    ),
    pytest.param(
        rule('kind = "vocabulary"\ndescription = "d"\nlabels = [0, 1]\n'),
        message("labels", "a non-empty list of labels (text, quoted), got [0, 1]"),
        id="labels that are numbers",
    ),
    pytest.param(
        rule('kind = "impossible"\ndescription = "d"\nlabels = ["a", "a"]\n'),
        message("labels", "at least 2 different labels (text, quoted), got ['a', 'a']"),
        id="impossible with one label",
    ),
    pytest.param(
        rule('kind = "impossible"\ndescription = "d"\nlabels = "a, b"\n'),
        message("labels", "at least 2 different labels (text, quoted), got 'a, b'"),
        id="labels as one string",
    ),
    pytest.param(
        rule('kind = "contextual"\ndescription = "d"\nlabels = ["a", " "]\nfield = "guideline_version"\n'),
        message("labels", "a non-empty list of labels (text, quoted), got ['a', ' ']"),
        id="an empty label in a list",
    ),
    pytest.param(
        rule('kind = "hierarchy"\ndescription = "d"\nparents = ["a"]\n'),
        message("parents", "a table of child = \"parent\" labels (text), got ['a']"),
        id="parents as a list",
    ),
    pytest.param(
        rule('kind = "hierarchy"\ndescription = "d"\nparents = { a = 1 }\n'),
        message("parents", "a table of child = \"parent\" labels (text), got {'a': 1}"),
        id="a parent that is a number",
    ),
    pytest.param(
        rule('kind = "contextual"\ndescription = "d"\nattribute = "source"\nvalues = ["fax"]\n'),
        message("label", "either label or labels (exactly one), got neither"),
        id="contextual without labels",
    ),
    pytest.param(
        rule(
            'kind = "contextual"\ndescription = "d"\nlabel = "a"\nlabels = ["b"]\nattribute = "s"\n'
            'values = ["x"]\n'
        ),
        message("label", "either label or labels (exactly one), got both"),
        id="contextual with label and labels",
    ),
    pytest.param(
        rule('kind = "contextual"\ndescription = "d"\nlabel = "a"\nvalues = ["fax"]\n'),
        message("attribute", "either attribute or field (exactly one), got neither"),
        id="contextual without a context",
    ),
    pytest.param(
        rule('kind = "contextual"\ndescription = "d"\nlabel = "a"\nfield = "annotator_id"\nvalues = ["x"]\n'),
        message("field", "one of guideline_version, got 'annotator_id'"),
        id="a field that is not an event context",
    ),
    pytest.param(
        rule('kind = "contextual"\ndescription = "d"\nlabel = "a"\nattribute = "source"\n'),
        message("values", "a list of context values, got nothing"),
        id="contextual without values",
    ),
    pytest.param(
        rule('kind = "contextual"\ndescription = "d"\nlabel = "a"\nattribute = "source"\nvalues = []\n'),
        message("values", "a non-empty list of values (text, quoted), got []"),
        id="contextual with no values",
    ),
    pytest.param(
        rule(
            'kind = "contextual"\ndescription = "d"\nlabel = "a"\nattribute = "source"\nvalues = ["x"]\n'
            'allowed = "no"\n'
        ),
        message("allowed", "true or false, got 'no'"),
        id="allowed of the wrong type",
    ),
    pytest.param(
        rule('kind = "contextual"\ndescription = "d"\nlabel = ""\nattribute = "source"\nvalues = ["x"]\n'),
        message("label", "non-empty text, got ''"),
        id="an empty label",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_RULES)
def test_a_wrong_rule_names_file_rule_and_field(text, expected):
    with pytest.raises(ValueError) as raised:
        load_rules(text, name="rules.toml")
    assert str(raised.value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '[[rules]]\nid = "R1"\n',
            "rules.toml: unknown top-level key 'rules'; expected only [[rule]] tables",
            id="misspelt table",
        ),
        pytest.param(
            '[rule]\nid = "R1"\n',
            "rules.toml: 'rule' must be an array of tables ([[rule]]), got a single [rule] table",
            id="single table",
        ),
        pytest.param(
            "rule = [1]\n",
            "rules.toml: rule 1 (no id): field 'rule': expected a [[rule]] table, got 1",
            id="not a table",
        ),
    ],
)
def test_a_wrong_file_names_the_file(text, expected):
    with pytest.raises(ValueError) as raised:
        load_rules(text, name="rules.toml")
    assert str(raised.value) == expected


def test_a_toml_syntax_error_names_the_file_and_the_line():
    with pytest.raises(ValueError) as raised:
        load_rules('[[rule]]\nid = "R1"\nkind = \n', name="rules.toml")
    assert str(raised.value).startswith("rules.toml: not valid TOML: ")
    assert "line 3" in str(raised.value)  # tomllib's own words: "Invalid value (at line 3, column 8)"


def test_a_missing_file_is_a_value_error_naming_it(tmp_path):
    path = tmp_path / "missing.toml"
    with pytest.raises(ValueError, match="^" + str(path) + ": cannot read the rules file"):
        load_rules(path)


def test_the_rules_file_comes_from_the_environment_then_beside_the_store(tmp_path, monkeypatch):
    monkeypatch.delenv("LABELWATCH_RULES", raising=False)
    db = tmp_path / "store.duckdb"
    assert find_rules_file(db) is None
    assert find_rules_file(":memory:") is None and find_rules_file(None) is None
    (tmp_path / "rules.toml").write_text(ALL_KINDS, encoding="utf-8")
    assert find_rules_file(db) == tmp_path / "rules.toml"
    assert find_rules_file(str(db)) == tmp_path / "rules.toml"
    # The variable wins, and a file it names is returned even when missing (load_rules then says so).
    monkeypatch.setenv("LABELWATCH_RULES", str(tmp_path / "elsewhere.toml"))
    assert find_rules_file(db) == tmp_path / "elsewhere.toml"
    assert find_rules_file(None) == tmp_path / "elsewhere.toml"
    monkeypatch.setenv("LABELWATCH_RULES", "  ")
    assert find_rules_file(db) == tmp_path / "rules.toml"
