"""Import: upload a file, read its validation report, then import the valid rows as one batch."""

import streamlit as st

from analytics.remediation.roles import Role
from ui import empty_state, identity, importer
from ui import store as app_store

st.title("Import")
st.caption(
    "Label events, items with slice attributes, gold labels, model predictions, the label vocabulary, "
    "guideline versions, a Label Studio export or a Labelbox export. The file is checked first; nothing is "
    "written until you press Import, and importing the same file twice changes nothing. Items imported again "
    "add to the items the store holds (earlier values stay in the history)."
)
if not identity.may(Role.ADMIN):
    st.info(identity.needs(Role.ADMIN, "import files"), icon=":material/lock:")
    st.stop()
# No ``type=``: Streamlit would raise on a name with another extension; the importer says what it reads.
upload = st.file_uploader(
    "Data file", key="import.upload",
    help="Read: " + ", ".join("." + extension for extension in importer.UPLOAD_TYPES),
)
if upload is None:
    empty_state.show(
        "Choose a file to see its validation report",
        "CSV or TSV (comma, semicolon, tab or `|` separated), Parquet, JSON lines (`.jsonl`, `.ndjson`), a "
        "Label Studio JSON export or a Labelbox NDJSON export (Export v2). Label events need the columns "
        "`item_id, annotator_id, label, labeled_at` (columns named otherwise can be mapped once the file is "
        "chosen); the README lists every kind and "
        f"its columns. Files larger than {st.get_option('server.maxUploadSize'):,} MB (the upload limit, "
        "`server.maxUploadSize`) are refused by the upload box: import them from the command line, which "
        "has no limit.",
        key="import", import_link=False, cli_hint=True,
    )
else:
    importer.show(app_store.current(), upload.name, upload.getvalue(), key="import")
