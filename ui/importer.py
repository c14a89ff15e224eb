"""The Import page's work: validate an uploaded file, show the report, and import it on request.

The upload is written to a private temporary folder under a fixed name that keeps only its (allow-listed)
extension, read by ``analytics.ingest`` (CSV, Parquet, JSON lines or a Label Studio JSON export; nothing is
ever unpickled), and deleted at the end of the run. Validation writes nothing; the import button commits
the batch, clears the cached loaders and reruns so every widget sees the new data.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import streamlit as st

from analytics import ingest, rules
from analytics.schema import DEFAULT_DATASET, INPUT_KINDS
from analytics.store import Store
from ui import identity, loaders, validation_report

#: Extensions the uploader accepts (without the dot).
UPLOAD_TYPES = ("csv", "parquet", "jsonl", "ndjson", "json")

#: Kinds whose rows can create items, which then need a dataset name.
_KINDS_WITH_DATASET = ("events", "items", "label-studio")


def show(store: Store, name: str, data: bytes, *, key: str) -> ingest.ValidationReport | None:
    """Validate the uploaded file ``name`` and offer to import it.

    Parameters
    ----------
    store : Store
        The app's store; written to only when the user presses the import button.
    name : str
        The uploaded file's name (shown in reports and stored as the batch's source).
    data : bytes
        The file's content.
    key : str
        Prefix of the widgets' keys and of this component's Session State.

    Returns
    -------
    ValidationReport or None
        The report shown, or None when the file could not be read at all (the error is shown).
    """
    done = st.session_state.pop(f"{key}.done", None)
    if done is not None:
        st.success(f"Imported {done.rows_accepted:,} rows as batch {done.batch_id}.", icon=":material/check:")
    file_key = f"{key}.{hashlib.sha256(data).hexdigest()[:16]}"
    with _saved_upload(name, data) as path:
        try:
            detected = ingest.detect_kind(path)
        except ingest.IngestError as exc:
            st.error(str(exc))
            return None
        kind, dataset, model_version = _options(detected, key=file_key)
        try:
            ruleset = _rules(store)
            prepared = ingest.prepare(
                store, path, kind=kind, name=name, dataset=dataset, model_version=model_version, rules=ruleset
            )
        except (ingest.IngestError, ValueError) as exc:  # our own messages: a bad file, a bad rules file
            st.error(str(exc))
            return None
        with prepared:
            report = prepared.report
            st.subheader("Validation report")
            validation_report.show(report, key=f"{file_key}.report")
            if report.already_imported:
                if done is None or done.batch_id != report.already_imported:
                    st.info(
                        f"This file was already imported as batch {report.already_imported}; nothing changed."
                    )
                return report
            if report.rows_accepted == 0:
                st.warning("No row passed validation, so there is nothing to import.")
                return report
            st.caption("Nothing has been written yet.")
            label = f"Import {report.rows_accepted:,} rows"
            if not st.button(label, type="primary", key=f"{file_key}.import"):
                return report
            created_by = identity.user_name()
            # Every widget value is read above: nothing in commit can be interrupted by a rerun.
            committed = ingest.commit(store, prepared, created_by=created_by)
    loaders.clear()
    st.session_state[f"{key}.done"] = committed
    st.rerun()


def _rules(store) -> rules.RuleSet | None:
    """The label rules events are checked against on import (``analytics.rules.find_rules_file``)."""
    path = rules.find_rules_file(store.path)
    return rules.load_rules(path) if path is not None else None


def _options(detected: str, *, key: str) -> tuple[str, str, str | None]:
    # A Label Studio export can only be read as such; tabular files can be any other kind.
    tabular = [k for k in INPUT_KINDS if k != "label-studio"]
    kinds = ["label-studio"] if detected == "label-studio" else tabular
    columns = st.columns(3)
    kind = columns[0].selectbox(
        "Kind of data", kinds, index=kinds.index(detected) if detected in kinds else 0, key=f"{key}.kind",
        help="Detected from the file's columns; change it if the guess is wrong.",
    )
    dataset = DEFAULT_DATASET
    if kind in _KINDS_WITH_DATASET:
        dataset = columns[1].text_input(
            "Dataset", DEFAULT_DATASET, key=f"{key}.dataset",
            help="Dataset of the items this file creates, unless its rows name one.",
        ).strip() or DEFAULT_DATASET
    model_version = None
    if kind == "predictions":
        model_version = columns[2].text_input(
            "Model version", "", key=f"{key}.model_version",
            help="Used when the file has no model_version column.",
        ).strip() or None
    return kind, dataset, model_version


@contextlib.contextmanager
def _saved_upload(name: str, data: bytes) -> Iterator[Path]:
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in UPLOAD_TYPES:
        raise ValueError(f"unsupported upload type {suffix!r}; use one of {', '.join(UPLOAD_TYPES)}")
    with tempfile.TemporaryDirectory(prefix="labelwatch-upload-") as folder:
        path = Path(folder) / f"upload.{suffix}"
        path.write_bytes(data)
        yield path
