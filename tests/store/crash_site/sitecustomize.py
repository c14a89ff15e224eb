"""Stops a LabelWatch process in the middle of a write, so a crash test can kill it there (never imported by
the product).

Python imports ``sitecustomize`` at start-up from ``sys.path``. The crash tests (``tests.store.crash``) put
this folder on the ``PYTHONPATH`` of the process they kill — a real CLI command or a real ``streamlit run
app.py`` — with ``LABELWATCH_TEST_PAUSE=<operation>:<when>`` and ``LABELWATCH_TEST_PAUSE_MARKER=<file>``. At
that point the process writes its pid to the marker file and sleeps until it is killed:

- ``<operation>:before``: inside the operation's transaction, once every row of it is written, before the
  COMMIT (the store must then hold none of it);
- ``<operation>:after``: once the operation returned, its transaction committed (the store must hold all
  of it).

Operations: ``import`` (``analytics.ingest.pipeline.commit``, its rows written by
``analytics.store.batches.write_batch``), ``policy`` (``analytics.remediation.policies.apply``, its actions
appended by ``analytics.store.remediation.insert_actions``), ``version``
(``analytics.remediation.versions.create_version``, its snapshot written by
``analytics.store.remediation.insert_version``). The CLI and the app's pages reach these through the
module attribute, so wrapping it here reaches them alike.
"""

import os

_POINT = os.environ.get("LABELWATCH_TEST_PAUSE")
_MARKER = os.environ.get("LABELWATCH_TEST_PAUSE_MARKER")


def _pause() -> None:
    import time

    partial = _MARKER + ".partial"
    with open(partial, "w") as out:
        out.write(str(os.getpid()))
    os.replace(partial, _MARKER)
    while True:
        time.sleep(60)


def _wrap(module, name, *, when=lambda args, kwargs: True) -> None:
    original = getattr(module, name)

    def paused(*args, **kwargs):
        result = original(*args, **kwargs)
        if when(args, kwargs):
            _pause()
        return result

    setattr(module, name, paused)


def _install(point: str) -> None:
    from analytics.ingest import pipeline
    from analytics.remediation import policies, versions
    from analytics.store import batches
    from analytics.store import remediation as sql

    def by_a_policy(args, kwargs):
        return any(a.get("policy") for a in args[1])

    targets = {
        "import:before": (batches, "write_batch", {}),
        "import:after": (pipeline, "commit", {}),
        "policy:before": (sql, "insert_actions", {"when": by_a_policy}),
        "policy:after": (policies, "apply", {}),
        "version:before": (sql, "insert_version", {}),
        "version:after": (versions, "create_version", {}),
    }
    if point not in targets:
        raise SystemExit(f"LABELWATCH_TEST_PAUSE={point!r}: expected one of {', '.join(targets)}")
    module, name, options = targets[point]
    _wrap(module, name, **options)


if _POINT and _MARKER:
    _install(_POINT)
