"""A store whose stored strings are injection payloads: SQL, HTML and script, Markdown, Streamlit directives.

Built from the digits demo with ids, labels, a cohort, a slice attribute and its values, the dataset and a
guideline version replaced by payloads, and imported *through files* by the ordinary pipeline (events as
CSV, items as Parquet, gold labels as JSON lines, the vocabulary and guidelines as CSV), so each payload is
a value an import accepts. Then the engine writes what a team writes: a detection run, review requests,
actions whose rationales are payloads, a version with a payload note and a campaign with a payload name.

Shared by ``tests/pages/test_injection_pages.py`` (AppTest) and ``tests/e2e/test_injection_browser.py``
(Chromium). Every payload would visibly change the page (or open a dialog) if it were rendered rather than
shown as text.
"""

from __future__ import annotations

import json
import pathlib

import pyarrow as pa
import pyarrow.parquet as pq

from analytics.detection import suspects
from analytics.ingest import pipeline
from analytics.remediation import actions, campaigns, versions
from analytics.remediation.roles import Actor, Role
from analytics.store import Store
from analytics.synthetic import demo

SQL_DROP = "'; DROP TABLE label_events; --"
SQL_OR = "' OR '1'='1"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
BOLD = "**x**"
JS_LINK = "[a](javascript:alert(1))"
RED = ":red[boom]"
ICON = ":material/warning:"

#: Each kind of stored string and its payload.
ANNOTATOR = SQL_DROP  # ann-001
ANNOTATOR_2 = IMG + "ann"  # ann-002
ANNOTATOR_3 = JS_LINK  # ann-003
ITEM = SQL_OR  # digits-0000
ITEM_2 = SCRIPT  # digits-0001
ITEM_3 = ICON + " item"  # digits-0002
LABEL = IMG  # "7"
LABEL_2 = RED  # "3"
COHORT = SCRIPT + "crowd"  # crowd
ATTRIBUTE = "source' OR '1'='1"  # source
VALUE = IMG + "fax"  # fax
VALUE_2 = JS_LINK + " " + BOLD  # scanner
DATASET = BOLD + SQL_OR
GUIDELINE = ICON + " v2"
RATIONALE = SCRIPT + " " + SQL_DROP + " " + JS_LINK
VERSION_NOTE = JS_LINK + " " + RED
CAMPAIGN = IMG + " campaign " + BOLD
REVIEWER = Actor("rita", Role.REVIEWER)
LEAD = Actor("lead", Role.ADMIN)

#: Every payload, for checks that look for any of them.
PAYLOADS = (SQL_DROP, SQL_OR, SCRIPT, IMG, BOLD, JS_LINK, RED, ICON)


def _frames() -> dict:
    data = demo.generate(0)
    events = data.events.copy()
    events["annotator_id"] = events["annotator_id"].replace(
        {"ann-001": ANNOTATOR, "ann-002": ANNOTATOR_2, "ann-003": ANNOTATOR_3})
    ids = {"digits-0000": ITEM, "digits-0001": ITEM_2, "digits-0002": ITEM_3}
    labels = {"7": LABEL, "3": LABEL_2}
    events["item_id"] = events["item_id"].replace(ids)
    events["cohort"] = events["cohort"].replace({"crowd": COHORT})
    events["label"] = events["label"].replace(labels)
    events["guideline_version"] = events["guideline_version"].replace({"v2": GUIDELINE})
    events["dataset"] = DATASET
    items = data.items.rename(columns={"source": ATTRIBUTE}).assign(dataset=DATASET)
    items["item_id"] = items["item_id"].replace(ids)
    items[ATTRIBUTE] = items[ATTRIBUTE].replace({"fax": VALUE, "scanner": VALUE_2})
    gold = data.gold.assign(label=data.gold["label"].replace(labels),
                            item_id=data.gold["item_id"].replace(ids))
    return {
        "vocabulary": data.vocabulary.assign(label=data.vocabulary["label"].replace(labels)),
        "guidelines": data.guidelines.assign(version=data.guidelines["version"].replace({"v2": GUIDELINE})),
        "items": items, "events": events, "gold": gold,
    }


def _write(folder: pathlib.Path, kind: str, frame) -> pathlib.Path:
    if kind == "items":
        path = folder / "items.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    elif kind == "gold":
        path = folder / "gold.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in frame.to_dict("records")))
    else:
        path = folder / f"{kind}.csv"
        frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    return path


def build(path: pathlib.Path) -> pathlib.Path:
    """Build the injection store at ``path`` (a new file); return ``path``."""
    folder = path.parent / "injection-files"
    folder.mkdir(exist_ok=True)
    with Store(path) as store:
        for kind, frame in _frames().items():
            report = pipeline.ingest(store, _write(folder, kind, frame), kind=kind, dataset=DATASET,
                                     created_by=ANNOTATOR)
            assert report.rows_rejected == 0, report.summary()
        run_id = suspects.run_detection(store, created_by=ANNOTATOR, random_state=0)
        items = [ITEM, ITEM_2, ITEM_3]
        suspects.send_to_review(store, items, run_id=run_id, cluster_id=None, requested_by=LEAD.name,
                                note=RATIONALE)
        actions.act(store, REVIEWER, ITEM, "relabel", to_label=LABEL, rationale=RATIONALE, run_id=run_id)
        actions.act(store, REVIEWER, ITEM_2, "escalate", rationale=RATIONALE, run_id=run_id)
        versions.create_version(store, LEAD, note=VERSION_NOTE)
        chosen = campaigns.selection(store, [ITEM_3, "digits-0004", "digits-0005"], run_id=run_id)
        campaigns.create_campaign(store, LEAD, CAMPAIGN, chosen, assignees=[ANNOTATOR, ANNOTATOR_2],
                                  note=RATIONALE)
    return path
