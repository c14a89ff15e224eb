"""CSV files whose dialect, quotes, blank lines or sizes once changed how the rest of the file was read.

Each test imports a real file into a real store through ``analytics.ingest.pipeline`` (and checks
``analytics.ingest.csv_scan`` directly where the layout itself is the point). Line numbers count as an editor
counts
them: the header is line 1, blank lines count.
"""

from __future__ import annotations

import pytest

from analytics.ingest import csv_scan
from analytics.ingest import pipeline as ingest
from analytics.store import Store

HEADER = "item_id,annotator_id,label,labeled_at\n"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.duckdb") as s:
        yield s


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def rejects(report) -> list[tuple]:
    return [(int(r.row_number), r.reason.split(": ", 1)[0]) for r in report.rejects.itertuples()]


@pytest.mark.parametrize(
    ("delimiter", "name"), [(";", "events.csv"), ("\t", "events.tsv"), ("|", "events.csv"), ("\t", "tab.csv")]
)
def test_the_delimiter_is_the_one_that_splits_the_header(store, tmp_path, delimiter, name):
    rows = [["item_id", "annotator_id", "label", "labeled_at"], ["i1", "a1", "cat, tabby", "2024-01-01"],
            ["i2", "a1", "dog", "2024-01-02"]]
    path = write(tmp_path, name, "".join(delimiter.join(row) + "\n" for row in rows))
    assert ingest.detect_kind(path) == "events"
    report = ingest.ingest(store, path)
    assert (report.rows_read, report.rows_accepted) == (2, 2)
    labels = store.query("SELECT label FROM label_events ORDER BY event_id").label.tolist()
    assert labels == ["cat, tabby", "dog"]


def test_blank_lines_count_in_every_line_number(store, tmp_path):
    text = HEADER + "\n" + "i1,a1,cat,2024-01-01\n\n\n" + "i2,a1,cat,soon\n" + "\r\n"
    text += "i3,a1,dog,2024-01-03\n"
    report = ingest.ingest(store, write(tmp_path, "blank.csv", text))
    assert (report.rows_read, report.rows_accepted) == (3, 2)
    assert rejects(report) == [(6, "bad timestamp")]
    assert report.messages()[0].startswith(
        f"{tmp_path / 'blank.csv'}, line 6: bad timestamp: column 'labeled_at'"
    )


def test_duplicates_name_the_line_of_the_first_row(store, tmp_path):
    text = HEADER + "i1,a1,cat,2024-01-01\n\n" + "i1,a1,cat,2024-01-01\n"
    report = ingest.ingest(store, write(tmp_path, "dup.csv", text))
    assert report.rejects.reason[0].endswith("got a duplicate of line 2")
    assert rejects(report) == [(4, "duplicate event")]


def test_quoted_line_breaks_keep_the_line_numbers_after_them(store, tmp_path):
    items = (
        "item_id,text,split\n"
        'i1,"first paragraph\n\nsecond paragraph",train\n'  # lines 2-4, a blank line inside the quotes
        "i2,plain,test\n"  # line 5
        "i3,\"one \"\"quoted\"\" word\",nowhere,extra\n"  # line 6: too many fields
        "i4,\"two\nlines\",train\n"  # lines 7-8
        "i2,again,test\n"  # line 9: a duplicate of line 5
    )
    report = ingest.ingest(store, write(tmp_path, "items.csv", items), kind="items")
    assert rejects(report) == [(6, "malformed row"), (9, "duplicate item")]
    assert report.rejects.reason[1].endswith("duplicate of line 5")
    texts = dict(store.query("SELECT item_id, text FROM items").values)
    assert texts == {"i1": "first paragraph\n\nsecond paragraph", "i2": "plain", "i4": "two\nlines"}


def test_an_unterminated_quote_near_the_top_is_one_reject(store, tmp_path):
    rows = "".join(f'"q{i}","a1","cat","2024-05-01"\n' for i in range(1, 101))
    path = write(tmp_path, "top.csv", HEADER + 'q0,a1,"bad,2024-05-01\n' + rows)
    layout = csv_scan.scan_csv(path, copy_dir=tmp_path, name="top.csv")
    assert [line for line, _, _ in layout.bad_lines] == [2] and layout.delimiter == ","
    report = ingest.ingest(store, path)
    assert (report.rows_read, report.rows_accepted) == (101, 100)
    assert rejects(report) == [(2, "malformed row")]
    assert "unterminated quote" in report.rejects.reason[0]
    assert store.scalar("SELECT count(*) FROM label_events WHERE label = 'cat'") == 100  # quotes removed


def test_an_unterminated_quote_late_does_not_swallow_the_next_record(store, tmp_path):
    body = "".join(f"i{i},a{i % 7},cat,2024-05-02\n" for i in range(30_000))
    text = HEADER + body + 'late,a1,"bad,2024-05-02\n' + "after1,a1,cat,2024-05-02\n"
    text += "after2,a1,dog,2024-05-02\n"
    report = ingest.ingest(store, write(tmp_path, "late.csv", text))
    assert (report.rows_read, report.rows_accepted) == (30_003, 30_002)
    assert rejects(report) == [(30_002, "malformed row")]
    assert store.scalar("SELECT count(*) FROM label_events WHERE item_id IN ('after1', 'after2')") == 2


def test_a_quote_after_text_that_opens_a_field_later_on_the_line_is_one_reject(store, tmp_path):
    # An even number of quotes: no scan of parities sees it, but DuckDB reads the second quote as the start
    # of a field running on into the next lines. The record is read again without that line.
    text = HEADER + 'i1,a1,ca"t,"2024-01-01\n' + "i2,a1,cat,2024-01-02\ni3,a1,dog,2024-01-03\n"
    report = ingest.ingest(store, write(tmp_path, "mid.csv", text))
    assert rejects(report) == [(2, "malformed row")]
    assert report.rows_accepted == 2
    assert store.query("SELECT item_id FROM label_events ORDER BY 1").item_id.tolist() == ["i2", "i3"]


def test_a_field_over_2_mb_early_in_the_file_does_not_refuse_the_file(store, tmp_path):
    text = HEADER + "i1,a1," + "x" * 3_000_000 + ",2024-01-01\n" + "i2,a1,cat,2024-01-02\n"
    report = ingest.ingest(store, write(tmp_path, "wide.csv", text))
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (2, 2, 0)
    assert store.scalar("SELECT max(strlen(label)) FROM label_events") == 3_000_000


def test_a_line_longer_than_the_limit_is_one_reject(store, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_scan, "MAX_RECORD_BYTES", 1_000)
    monkeypatch.setattr("analytics.store.staging.MAX_RECORD_BYTES", 1_000)
    monkeypatch.setattr("analytics.store.stage_sources.MAX_RECORD_BYTES", 1_000)
    text = HEADER + "i1,a1," + "x" * 5_000 + ",2024-01-01\n" + "i2,a1,cat,2024-01-02\n"
    text += 'i3,a1,"' + "y" * 5_000 + '",2024-01-03\n' + "i4,a1,dog,2024-01-04\n"
    report = ingest.ingest(store, write(tmp_path, "long.csv", text))
    assert rejects(report) == [(2, "malformed row"), (4, "malformed row")]
    assert "expected a line of at most 1,000 bytes" in report.rejects.reason[0]
    assert store.query("SELECT item_id FROM label_events ORDER BY 1").item_id.tolist() == ["i2", "i4"]


def test_a_column_named_twice_refuses_the_file_naming_both(store, tmp_path):
    text = "item_id,annotator_id,label,labeled_at,label\ni1,a1,cat,2024-01-01,dog\n"
    path = write(tmp_path, "twice.csv", text)
    with pytest.raises(ingest.IngestError) as error:
        ingest.prepare(store, path)
    assert str(error.value).startswith(
        f"{path}: column 'label' appears twice in the header (columns 3 and 5)"
    )
    assert store.scalar("SELECT count(*) FROM ingest_batches") == 0


def test_a_header_without_rows_is_refused(store, tmp_path):
    with pytest.raises(ingest.IngestError, match="no rows after the header"):
        ingest.prepare(store, write(tmp_path, "empty.csv", HEADER))


def test_the_scan_counts_lines_finds_odd_quotes_across_blocks_and_blanks_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_scan, "_CHUNK", 7)  # blocks end in the middle of lines and of quoted fields
    lines = ["a,b,c", '1,"x', 'y",2', "", '3,"z', "4,5", '"q"",6', "7,8"]
    path = write(tmp_path, "blocks.csv", "\n".join(lines))
    odd, offsets, count, controls, _ = csv_scan._odd_lines(path)
    assert odd == [2, 3, 5, 7] and count == 8 and not controls
    data = path.read_bytes()
    found = [data[offsets[line]:].split(b"\n", 1)[0].decode() for line in odd]
    assert found == ['1,"x', 'y",2', '3,"z', '"q"",6']
    layout = csv_scan.with_blank_lines(csv_scan.scan_csv(path, copy_dir=tmp_path, name="blocks.csv"))
    assert layout.continuations == (3,)
    assert [line for line, _, _ in layout.bad_lines] == [5, 7]
    assert layout.gaps == (3, 4, 5, 7)
    assert layout.path.read_text().split("\n") == ["a,b,c", '1,"x', 'y",2', "", "", "4,5", "", "7,8"]


@pytest.mark.parametrize(
    "text",
    [
        HEADER + "i1,a1,cat,2024-01-01\r\ni2,a1,dog,2024-01-02\n",  # one CR LF in an LF file
        HEADER.replace("\n", "\r\n") + "i1,a1,cat,2024-01-01\ni2,a1,dog,2024-01-02\r\n",  # one LF in CR LF
        HEADER.replace("\n", "\r\n") + "i1,a1,cat,2024-01-01\r\n\r\ni2,a1,dog,2024-01-02\r\n",  # CR LF only
    ],
)
def test_mixed_line_breaks_are_read_not_refused(store, tmp_path, text):
    report = ingest.ingest(store, write(tmp_path, "mixed.csv", text))
    assert (report.rows_read, report.rows_accepted) == (2, 2)
    assert store.query("SELECT label FROM label_events ORDER BY event_id").label.tolist() == ["cat", "dog"]


def test_a_carriage_return_inside_a_line_is_one_reject(store, tmp_path):
    text = HEADER + "i1,a1,c\rat,2024-01-01\ni2,a1,dog,2024-01-02\ni3,a1,cat,soon\n"
    report = ingest.ingest(store, write(tmp_path, "cr.csv", text))
    assert rejects(report) == [(2, "malformed row"), (4, "bad timestamp")]
    assert "carriage return" in report.rejects.reason[0]
    assert report.rows_accepted == 1


def test_wide_predictions_keep_their_lines_past_blank_lines(store, tmp_path):
    text = "item_id,model_version,prob_cat,prob_dog\n\ni1,m1,0.2,0.8\n\ni2,m1,1.5,0.1\ni3,m1,0.5,0.5\n"
    report = ingest.ingest(store, write(tmp_path, "wide.csv", text), kind="predictions")
    assert (report.rows_read, report.rows_accepted) == (3, 2)
    assert rejects(report) == [(5, "out of range")]
