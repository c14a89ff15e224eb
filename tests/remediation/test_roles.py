"""Roles from the roles file (full e-mail addresses and @domains, case-insensitively, a default for anyone
else), and the writes that predate roles — an import, a retraction, a detection run — refused to an actor
below their role before anything is written."""

from __future__ import annotations

import pytest

from analytics.detection import suspects
from analytics.ingest import pipeline as ingest
from analytics.ingest import retraction
from analytics.remediation.roles import Actor, PermissionDenied, Role, recorded_name, role_book
from analytics.store import Store, batches, retractions
from analytics.store import detection as detection_queries

ROLES = """
[roles]
admin = ["Lead@Example.org"]
reviewer = ["@labelers.example.org", "rosa@example.org"]
viewer = ["guest@labelers.example.org"]
"""

EVENTS = "item_id,annotator_id,label,labeled_at\nx-1,ann-1,cat,2026-05-01T10:00:00\n"


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text(ROLES, encoding="utf-8")
    return role_book(path)


@pytest.mark.parametrize(("name", "role"), [
    ("lead@example.org", Role.ADMIN),           # the file wrote it in capitals
    ("LEAD@EXAMPLE.ORG", Role.ADMIN),
    (" rosa@Example.org ", Role.REVIEWER),       # a full address, whatever its case and spaces
    ("ana@labelers.example.org", Role.REVIEWER),  # by its domain
    ("Ana@LABELERS.example.org", Role.REVIEWER),
    ("guest@labelers.example.org", Role.VIEWER),  # an address's own entry wins over its domain's
    ("rosa@example.org.evil.test", Role.VIEWER),  # not the address, not the domain: the default
    ("someone@sub.labelers.example.org", Role.VIEWER),  # a subdomain is another domain
    ("rosa", Role.VIEWER),
])
def test_a_role_comes_from_the_address_then_its_domain_then_the_default(book, name, role):
    assert book.role_of(name) is role


def test_the_files_default_is_what_an_unnamed_address_gets(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text('[roles]\nadmin = ["lead@example.org"]\ndefault = "reviewer"\n', encoding="utf-8")
    assert role_book(path).role_of("new@elsewhere.test") is Role.REVIEWER


def test_recorded_name_checks_an_actor_and_records_a_bare_name():
    lead = Actor("lead@example.org", Role.ADMIN)
    assert recorded_name(lead, Role.ADMIN, "import a file") == "lead@example.org"
    assert recorded_name("nightly", Role.ADMIN, "import a file") == "nightly"
    with pytest.raises(PermissionDenied, match=r"rosa \(reviewer\) may not import a file: needs the admin"):
        recorded_name(Actor("rosa", Role.REVIEWER), Role.ADMIN, "import a file")


def test_an_import_by_an_actor_below_admin_writes_nothing(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(EVENTS, encoding="utf-8")
    with Store(str(tmp_path / "s.duckdb")) as store:
        with ingest.prepare(store, path) as prepared, pytest.raises(PermissionDenied, match="import a file"):
            ingest.commit(store, prepared, created_by=Actor("rosa@example.org", Role.REVIEWER))
        assert batches.list_batches(store).empty
        with ingest.prepare(store, path) as prepared:
            done = ingest.commit(store, prepared, created_by=Actor("lead@example.org", Role.ADMIN))
        assert batches.list_batches(store)["created_by"].tolist() == ["lead@example.org"]
        assert done.batch_id


def test_a_retraction_by_an_actor_below_admin_writes_nothing(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(EVENTS, encoding="utf-8")
    with Store(str(tmp_path / "s.duckdb")) as store:
        batch_id = ingest.ingest(store, path).batch_id
        with pytest.raises(PermissionDenied, match=r"guest \(viewer\) may not retract an import"):
            retraction.retract(store, batch_id, actor=Actor("guest", Role.VIEWER), reason="wrong export")
        assert retractions.list_retractions(store).empty
        lead = Actor("lead@example.org", Role.ADMIN)
        done = retraction.retract(store, batch_id, actor=lead, reason="wrong export")
        assert done["retracted_by"] == "lead@example.org"


def test_a_detection_run_by_a_viewer_is_refused_before_it_reads(store):
    before = detection_queries.runs(store)
    with pytest.raises(PermissionDenied, match=r"guest \(viewer\) may not run detection"):
        suspects.run_detection(store, created_by=Actor("guest", Role.VIEWER))
    assert detection_queries.runs(store).equals(before)
