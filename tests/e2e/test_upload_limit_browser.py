"""An upload above the configured size limit gets a clear message and writes nothing; one just below it is
read. The server runs with ``server.maxUploadSize`` = 1 MB (``STREAMLIT_SERVER_MAX_UPLOAD_SIZE``; the shipped
``.streamlit/config.toml`` says 500), so the files stay small. Streamlit's upload box counts a megabyte as
10^6 bytes (1,000,001 bytes are refused at a limit of 1, 999,999 are read).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from analytics.store import Store
from tests.e2e.conftest import streamlit_server
from tests.e2e.streamlit_page import open_app, rerun

pytestmark = pytest.mark.e2e

LIMIT_MB = 1
HEADER = "item_id,annotator_id,label,labeled_at\n"


def _events(path, size: int):
    """A valid events CSV of exactly ``size`` bytes (the last label padded)."""
    rows, i = [HEADER], 0
    while sum(map(len, rows)) < size - 60:
        rows.append(f"i{i},a1,cat,2024-01-01\n")
        i += 1
    last = f"i{i},a1,,2024-01-01\n"
    pad = size - sum(map(len, rows)) - len(last)
    rows.append(f"i{i},a1,{'c' * pad},2024-01-01\n")
    path.write_text("".join(rows))
    assert path.stat().st_size == size
    return path


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("upload-limit")
    db = folder / "store.duckdb"
    Store(db).close()
    with streamlit_server(db, folder, STREAMLIT_SERVER_MAX_UPLOAD_SIZE=str(LIMIT_MB)) as url:
        yield url


@pytest.mark.parametrize("over", [True, False], ids=["just above the limit", "just below it"])
def test_an_upload_above_the_limit_is_refused_with_a_message(page, limited_server, tmp_path, over):
    url = limited_server
    size = LIMIT_MB * 1_000_000 + (1 if over else -1)
    upload = _events(tmp_path / ("big.csv" if over else "fits.csv"), size)
    open_app(page, f"{url}/import_data")
    main = page.locator("[data-testid='stMain']")
    expect(main).to_contain_text(f"Files larger than {LIMIT_MB} MB (the upload limit")
    dropzone = page.locator("[data-testid='stFileUploaderDropzoneInput']")
    if over:
        dropzone.set_input_files(str(upload))
        expect(main).to_contain_text(f"File must be {LIMIT_MB:.1f}MB or smaller")
        expect(main).to_contain_text("import them from the command line")
        expect(page.get_by_role("heading", name="Validation report")).to_have_count(0)
    else:
        rerun(page, lambda: dropzone.set_input_files(str(upload)))
        expect(page.get_by_role("heading", name="Validation report")).to_be_visible()
        expect(main).not_to_contain_text("File must be")
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
