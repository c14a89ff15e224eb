"""The README's tutorial, run as written: a Label Studio export imported, summarised, and its Agreement page.

The commands are read from the README's tutorial block; the store path is moved to a temporary folder and
``.venv/bin/python`` is this interpreter. Krippendorff's alpha is checked against a computation written here
from its definition (nominal data, every rater rated every item), independent of ``analytics``.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXPORT = ROOT / "data" / "examples" / "bluebirds" / "bluebirds.label-studio.json"


def tutorial_commands() -> list[str]:
    """The command lines of the README's tutorial block, comments dropped."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Tutorial: from a Label Studio export to the Agreement page", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def krippendorff_alpha_nominal(answers: dict[str, list[str]]) -> float:
    """Alpha from its definition: 1 − D_o / D_e over the coincidences of the values within each unit."""
    values = sorted({v for unit in answers.values() for v in unit})
    counts = np.array([[unit.count(v) for v in values] for unit in answers.values() if len(unit) > 1], float)
    m = counts.sum(axis=1)
    n = m.sum()
    observed = ((m ** 2 - (counts ** 2).sum(axis=1)) / (m - 1)).sum() / n
    totals = counts.sum(axis=0)
    expected = (n ** 2 - (totals ** 2).sum()) / (n * (n - 1))
    return 1 - observed / expected


@pytest.fixture(scope="module")
def birds(tmp_path_factory) -> tuple[pathlib.Path, list[subprocess.CompletedProcess]]:
    db = tmp_path_factory.mktemp("tutorial") / "birds.duckdb"
    ingest, summary, dashboard = tutorial_commands()
    assert dashboard.startswith("LABELWATCH_DB=birds.duckdb make dashboard")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELWATCH_")}
    done = []
    for line in (ingest, summary):
        argv = [str(db) if word == "birds.duckdb" else word for word in shlex.split(line)]
        assert argv[0] == ".venv/bin/python"
        done.append(subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, capture_output=True, text=True,
                                   timeout=600, check=False, env={**env, "PYTHONPATH": str(ROOT)}))
    return db, done


def test_the_export_is_imported_whole_and_summarised(birds):
    db, (ingest, summary) = birds
    assert ingest.returncode == 0, ingest.stderr
    assert "4,212 rows read, 4,212 accepted, 0 rejected" in ingest.stdout
    assert summary.returncode == 0, summary.stderr
    assert "4,212 events on 108 items by 39 annotators, 2 labels" in summary.stdout
    assert "Krippendorff's alpha: 0.126 (95% CI 0.106–0.153)" in summary.stdout  # as the README says


def test_alpha_equals_its_definition_on_the_export(birds):
    db, _ = birds
    answers: dict[str, list[str]] = {}
    for task in json.loads(EXPORT.read_text(encoding="utf-8")):
        for annotation in task["annotations"]:
            answers.setdefault(task["data"]["item_id"], []).extend(
                choice for result in annotation["result"] for choice in result["value"]["choices"])
    expected = krippendorff_alpha_nominal(answers)
    found = subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), "summary", "--json"],
                           cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    alpha = json.loads(found.stdout)["agreement"]["krippendorff_alpha"]["value"]
    assert alpha == pytest.approx(expected, abs=1e-12)
    assert round(expected, 3) == 0.126


def test_the_agreement_page_shows_the_export(birds, monkeypatch):
    db, _ = birds
    monkeypatch.setenv("LABELWATCH_DB", str(db))
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120).run()
    at.switch_page("../pages/monitor/agreement.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Agreement"
    verdict = " ".join(t.value for t in at.text)
    assert verdict.startswith("Krippendorff's alpha (nominal) is 0.126")
    assert [m.value for m in at.metric if m.label == "Krippendorff's alpha"] == ["0.126"]
