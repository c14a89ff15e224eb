"""Layer rules of docs/ARCHITECTURE.md, checked on the source text."""

import ast
import functools
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


@functools.cache
def _text(path):
    return path.read_text(encoding="utf-8")


@functools.cache
def _tree(path):
    """The syntax tree of ``path``, parsed once for every rule that reads it."""
    return ast.parse(_text(path))


def _imports(path):
    tree = _tree(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module.split(".")[0]


def _sources(*folders):
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py")]


def test_analytics_and_charts_never_import_streamlit_or_ui():
    offenders = {
        str(p.relative_to(ROOT)): sorted(set(_imports(p)) & {"streamlit", "ui", "pages"})
        for p in _sources("analytics", "charts")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


#: The command line is the engine's one composition root: ``report`` draws the app's figures into a file.
CLI = "analytics/__main__.py"


def test_analytics_never_imports_charts():
    offenders = [
        str(p.relative_to(ROOT))
        for p in _sources("analytics")
        if "charts" in set(_imports(p)) and str(p.relative_to(ROOT)) != CLI
    ]
    assert offenders == []
    cli = {m for m in _modules(ROOT / CLI) if m.startswith("charts")}
    assert cli <= {"charts", "charts.report"}, "the CLI may import the report builder only"


def _modules(path):
    """Full module names ``path`` imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (node.module + "." + alias.name for alias in node.names)


def test_metrics_never_import_the_words_that_render_them():
    """The renderer layer depends on the metric modules, never the reverse (the CLI summary, which
    composes numbers and words into one report, is the one service that reads both)."""
    metrics = [p for p in _sources("analytics/monitoring", "analytics/agreement", "analytics/detection",
                                   "analytics/consensus", "analytics/core", "analytics/store")
               if p.name != "summary.py"]
    offenders = [str(p.relative_to(ROOT)) for p in metrics
                 if any(m.startswith("analytics.narrative") for m in _modules(p))]
    assert metrics and offenders == []


def test_sql_lives_only_in_the_store():
    """SQL lives in the store, and the lake's aggregations in ``analytics/engine`` (DuckDB or Spark)."""
    pattern = re.compile(r"\b(SELECT|INSERT INTO|CREATE TABLE|DELETE FROM)\b")
    offenders = [
        str(p.relative_to(ROOT))
        for p in _sources("analytics", "charts", "ui", "pages") + [ROOT / "app.py"]
        if p.exists() and not {"store", "engine"} & set(p.relative_to(ROOT).parts)
        and pattern.search(_text(p))
    ]
    assert offenders == []


def test_no_sql_built_with_f_strings():
    pattern = re.compile(r"""(execute|query|sql|scalar)\(\s*f["']""")
    offenders = [
        str(p.relative_to(ROOT))
        for p in _sources("analytics", "ui", "pages")
        if pattern.search(_text(p))
    ]
    assert offenders == []


def test_no_unsafe_html():
    offenders = [
        str(p.relative_to(ROOT))
        for p in _sources("ui", "pages", "charts") + [ROOT / "app.py"]
        if p.exists() and "unsafe_allow_html=True" in _text(p)
    ]
    assert offenders == []


#: What the store may import from the engine besides itself and ``analytics.core``: the parsers whose results
#: it stages (the CSV layout and the label rules). Nothing that computes statistics.
STORE_MAY_IMPORT = {"analytics.ingest.csv_scan", "analytics.ingest.rules"}


def _type_checking_only(tree):
    """Nodes under ``if TYPE_CHECKING:``: names for annotations, not run-time dependencies."""
    return {id(n) for block in ast.walk(tree)
            if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
            for n in ast.walk(block)}


def _engine_imports(path):
    tree = _tree(path)
    annotations_only = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in annotations_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analytics"):
            if node.module == "analytics":
                yield from (f"analytics.{alias.name}" for alias in node.names)
            else:
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("analytics"))


def store_offences(path):
    """The engine modules ``path`` imports that the store may not depend on."""
    allowed = ("analytics.core", "analytics.store")
    return sorted(m for m in set(_engine_imports(path))
                  if not m.startswith(allowed) and m not in STORE_MAY_IMPORT)


def test_the_store_depends_only_on_the_data_model_and_the_parsers_it_stages(tmp_path):
    offenders = {str(p.relative_to(ROOT)): store_offences(p) for p in _sources("analytics/store")}
    assert {k: v for k, v in offenders.items() if v} == {}
    planted = tmp_path / "bad.py"
    planted.write_text("from typing import TYPE_CHECKING\n"
                       "from analytics.detection.run import MISLABELED\n"
                       "from analytics import monitoring\n"
                       "if TYPE_CHECKING:\n    from analytics.detection.run import Detection\n")
    assert store_offences(planted) == ["analytics.detection.run", "analytics.monitoring"]


#: The UI modules that may reach the store's SQL modules: the cached store and the cached loaders (every page
#: read). Writes go through engine services (``analytics.ingest.retraction.retract`` for a retraction).
UI_STORE_ACCESS = {"ui/store.py", "ui/loaders.py"}


def ui_store_imports(path):
    """The ``analytics.store`` submodules ``path`` imports (the package's ``Store`` and errors are fine)."""
    found = []
    for module in set(_engine_imports(path)):
        if module.startswith("analytics.store."):
            found.append(module)
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module == "analytics.store":
            found += [f"analytics.store.{a.name}" for a in node.names if a.name[:1].islower()]
    return sorted(found)


def test_pages_and_widgets_read_the_store_through_cached_loaders_only(tmp_path):
    offenders = {
        str(p.relative_to(ROOT)): ui_store_imports(p)
        for p in _sources("ui", "pages") + [ROOT / "app.py"]
        if str(p.relative_to(ROOT)) not in UI_STORE_ACCESS
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    planted = tmp_path / "widget.py"
    planted.write_text("from analytics.store import Store, detection\n"
                       "from analytics.store.overview import x\n")
    assert ui_store_imports(planted) == ["analytics.store.detection", "analytics.store.overview"]
