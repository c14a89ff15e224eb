"""The Import page's work: validate an uploaded file, show the report, and import it on request.

The upload is written to a private temporary folder and read by ``analytics.ingest.pipeline`` (CSV or TSV with
comma, semicolon, tab or ``|`` delimiters, Parquet, JSON lines, a Label Studio JSON export or a Labelbox
NDJSON export; nothing is ever unpickled), and deleted at the end of the run. Every message names the file
by its own name, never by the temporary copy. A name whose extension is not one of those gets a message, not
an exception.

Before anything is written the user chooses what the file holds (guessed from its columns), the dataset of
the items it creates (one the store has, or a new one; for a Labelbox export, by default each data row's
project), for a Labelbox export the classification question whose answers are the labels, and, where the
file's columns are named otherwise, which of its columns holds each required one. Validation writes nothing;
the import button commits the batch, clears the cached loaders and reruns, and the page then shows the
import's own report.

Timestamps outside the plausible range are rejected: ``import_earliest`` / ``import_latest`` in
``.streamlit/secrets.toml``, else ``LABELWATCH_EARLIEST`` / ``LABELWATCH_LATEST``, else 1990-01-01 to one
day from now (``analytics.ingest.pipeline.time_range``).
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from analytics.core.schema import (
    DEFAULT_DATASET,
    EXPORT_KINDS,
    INPUT_KINDS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
)
from analytics.ingest import pipeline as ingest
from analytics.ingest import readers, rules
from analytics.remediation.roles import PermissionDenied
from analytics.store import Store, StoreError
from ui import identity, loaders, validation_report
from ui.safe_text import md

#: Extensions the page reads (without the dot); other names get a message saying so.
UPLOAD_TYPES = tuple(extension.lstrip(".") for extension in readers.FORMATS)

#: Kinds whose rows can create items, which then need a dataset name.
_KINDS_WITH_DATASET = ("events", "items", "label-studio", "labelbox")
_NOT_MAPPED = "(not in the file)"
_NEW_DATASET = "New dataset…"
_PROJECTS = "Each data row's Labelbox project"


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
    digest = hashlib.sha256(data).hexdigest()
    done = st.session_state.get(f"{key}.done")
    if done is not None and done.file_sha256 == digest:
        st.success(f"Imported {done.rows_accepted:,} rows as batch {done.batch_id}.", icon=":material/check:")
        st.subheader("Import report")
        validation_report.show(done, key=f"{key}.{digest[:16]}.done")
        return done
    st.session_state.pop(f"{key}.done", None)
    problem = readers.unknown_type_message(name)
    if problem is not None:
        st.error(md(problem))
        return None
    try:
        timestamps = _time_range()
    except ValueError as exc:
        st.error(md(f"The plausible range of timestamps is set wrongly: {exc}"))
        return None
    file_key = f"{key}.{digest[:16]}"
    try:
        return _validate(store, name, data, file_key, timestamps, key=key)
    except OSError as exc:  # the upload could not be saved for reading: a full disk
        st.error(md(f"{name}: cannot read the upload ({exc.strerror or exc}); free some disk space and "
                    "try again."))
        return None


def _validate(store: Store, name: str, data: bytes, file_key: str, timestamps: ingest.TimeRange, *,
              key: str) -> ingest.ValidationReport | None:
    with _saved_upload(name, data) as path:
        try:
            detected = ingest.detect_kind(path, name)
        except ingest.IngestError as exc:
            if readers.FORMATS[Path(name).suffix.lower()] == "json":
                st.error(md(str(exc)))
                return None
            st.warning(md(str(exc)) + ". Choose the kind and the columns below.")
            detected = None
        kind, dataset, model_version, question = _options(detected, path, name, key=file_key)
        columns = _column_mapping(path, name, kind, key=file_key)
        if columns is None:
            return None
        st.caption(f"Timestamps are accepted {md(timestamps)} (the plausible range for imports).")
        try:
            ruleset = _rules(store)
            prepared = ingest.prepare(
                store, path, kind=kind, name=name, dataset=dataset, model_version=model_version,
                rules=ruleset, columns=columns, timestamps=timestamps, question=question,
            )
        except (ingest.IngestError, StoreError, ValueError) as exc:  # our own messages, naming the file
            st.error(md(str(exc)))
            return None
        with prepared:
            report = prepared.report
            st.subheader("Validation report")
            validation_report.show(report, key=f"{file_key}.report")
            if report.already_imported:
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
            me = identity.actor()
            # Every widget value is read above: nothing in commit can be interrupted by a rerun.
            try:
                committed = ingest.commit(store, prepared, created_by=me)
            except (StoreError, PermissionDenied) as exc:
                st.error(md(str(exc)))
                return report
    loaders.clear()
    st.session_state[f"{key}.done"] = committed
    st.rerun()


def _time_range() -> ingest.TimeRange:
    """The plausible range of timestamps: the secrets' ``import_earliest`` / ``import_latest``, else the
    environment, else the defaults (``analytics.ingest.pipeline.time_range``)."""
    settings = {}
    if st.secrets.load_if_toml_exists():
        settings = {bound: st.secrets.get(f"import_{bound}") for bound in ("earliest", "latest")}
    return ingest.time_range(
        str(settings["earliest"]) if settings.get("earliest") else None,
        str(settings["latest"]) if settings.get("latest") else None,
    )


def _rules(store: Store) -> rules.RuleSet | None:
    """The label rules events are checked against on import (``analytics.ingest.rules.find_rules_file``)."""
    path = rules.find_rules_file(store.path)
    return rules.load_rules(path) if path is not None else None


def _options(detected: str | None, path: Path, name: str, *,
             key: str) -> tuple[str, str | None, str | None, str | None]:
    """What the file holds, the dataset of its new items (None: each Labelbox data row's project), the
    model version of predictions and the question of a Labelbox export."""
    # An export can only be read as such; tabular files can be any other kind (JSON lines also a Labelbox
    # export the guess missed).
    tabular = [k for k in INPUT_KINDS if k not in EXPORT_KINDS]
    if readers.FORMATS[Path(name).suffix.lower()] == "jsonl":
        tabular.append("labelbox")
    kinds = [detected] if detected in EXPORT_KINDS else tabular
    columns = st.columns(3)
    kind = columns[0].selectbox(
        "Kind of data", kinds, index=kinds.index(detected) if detected in kinds else 0, key=f"{key}.kind",
        help="Guessed from the file's columns; change it if the guess is wrong.",
    )
    dataset = DEFAULT_DATASET
    if kind in _KINDS_WITH_DATASET:
        dataset = _dataset(columns[1], name, key=key, projects=kind == "labelbox")
    model_version = question = None
    if kind == "predictions":
        model_version = columns[2].text_input(
            "Model version", "", key=f"{key}.model_version",
            help="Used when the file has no model_version column.",
        ).strip() or None
    if kind == "labelbox":
        radio = [q for q, answers in readers.labelbox_questions(path).items() if answers == "radio"]
        if radio:  # without one the validation says so
            question = columns[2].selectbox(
                "Classification question", radio, index=0, key=f"{key}.question",
                help="Its radio answers are the labels (checklist and free-text answers are not one class "
                "each). A store follows one question: import another into another store.",
            )
    return kind, dataset, model_version, question


def _dataset(column: DeltaGenerator, name: str, *, key: str, projects: bool = False) -> str | None:
    """The dataset of the items the file creates: one the store has, or a new one named by the user; with
    ``projects`` (a Labelbox export) also, and first, each data row's project (None)."""
    existing = list(loaders.filter_options(loaders.source())["datasets"])
    help_text = "Items this file creates go to this dataset, unless their rows name one."
    first = [_PROJECTS] if projects else []
    if projects:
        help_text = ("Items this file creates go to this dataset; by default each goes to its data row's "
                     "Labelbox project. Items the store holds keep theirs.")
    if existing or first:
        choice = column.selectbox(
            "Dataset of new items", [*first, *existing, _NEW_DATASET], index=0, key=f"{key}.dataset",
            help=help_text,
        )
        if choice == _PROJECTS:
            return None
        if choice != _NEW_DATASET:
            return choice
    typed = column.text_input(
        "Name of the new dataset" if existing or first else "Dataset of new items",
        Path(name).stem if existing or first else DEFAULT_DATASET,
        key=f"{key}.new_dataset", help=help_text,
    ).strip()
    return typed or DEFAULT_DATASET


def _column_mapping(path: Path, name: str, kind: str, *, key: str) -> dict[str, str] | None:
    """Which of the file's columns to read as each required column it lacks (and, on request, optional
    ones); None when a required column is still unassigned (a message says which)."""
    if kind in EXPORT_KINDS:
        return {}
    try:
        found = readers.header_columns(path, readers.FORMATS[Path(name).suffix.lower()], name)
    except ingest.IngestError as exc:
        st.error(md(str(exc)))
        return None
    table_kind = kind
    required = [c for c in REQUIRED_COLUMNS[table_kind] if c not in found]
    optional = [c for c in OPTIONAL_COLUMNS[table_kind] if c not in found]
    spare = [c for c in found if c not in (*REQUIRED_COLUMNS[table_kind], *OPTIONAL_COLUMNS[table_kind])]
    if not spare or not (required or optional):
        return {}  # nothing to choose from: a missing column is reported by the validation
    mapping: dict[str, str] = {}
    if required:
        st.markdown("**Columns**: the file lacks some columns this kind needs. Choose the file's column "
                    "that holds each.")
        cells = st.columns(min(len(required), 4))
        for i, target in enumerate(required):
            chosen = cells[i % len(cells)].selectbox(
                f"Column for {target}", [_NOT_MAPPED, *spare], key=f"{key}.{kind}.map.{target}",
            )
            if chosen != _NOT_MAPPED:
                mapping[chosen] = target
    if optional and spare:
        with st.expander("Map more columns (optional)"):
            cells = st.columns(min(len(optional), 3))
            for i, target in enumerate(optional):
                chosen = cells[i % len(cells)].selectbox(
                    f"Column for {target}", [_NOT_MAPPED, *spare], key=f"{key}.{kind}.map.{target}",
                )
                if chosen != _NOT_MAPPED:
                    mapping[chosen] = target
    missing = [c for c in required if c not in mapping.values()]
    if missing:
        st.info(f"Choose a column for {', '.join(missing)} to see the validation report.")
        return None
    return mapping


@contextlib.contextmanager
def _saved_upload(name: str, data: bytes) -> Iterator[Path]:
    """The upload in a private folder under a fixed name with its (allow-listed) extension."""
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="labelwatch-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        yield path
