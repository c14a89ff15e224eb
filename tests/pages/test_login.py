"""Login and roles through the real app (AppTest; ``at.user`` fakes what the OpenID Connect provider returns,
``at.secrets`` configures it): with ``[auth]`` a visitor who is not logged in gets the login screen and
nothing else (the store is not even opened); a logged-in user's e-mail and role are in the sidebar; each
page draws its write controls only for a role that may use them; without ``[auth]`` the sidebar says the app
runs as one local user."""

from __future__ import annotations

import pathlib
import re
import tomllib

import pytest
from streamlit.testing.v1 import AppTest

from analytics.remediation import campaigns, versions
from analytics.remediation.roles import Actor, Role
from analytics.store import Store
from analytics.store import remediation as sql
from analytics.store.review_requests import request_review
from ui.safe_text import md

ROOT = pathlib.Path(__file__).resolve().parents[2]
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-test-secret-long-enough-to-sign",
    "client_id": "labelwatch",
    "client_secret": "test",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ROLES = """
[roles]
admin = ["Lead@Example.org"]
reviewer = ["@reviewers.example.org"]
viewer = ["guest@reviewers.example.org"]
"""
VIEWER = "guest@reviewers.example.org"   # named a viewer, though their domain's people review
REVIEWER = "Rosa@Reviewers.Example.org"  # by the domain, whatever the case
ADMIN = "lead@example.org"               # a full address, written in capitals in the file


@pytest.fixture
def db(demo_store_path, tmp_path, monkeypatch):
    """A demo copy with items waiting for review, a dataset version and a campaign; the roles file above."""
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    lead = Actor("lead", Role.ADMIN)
    with Store(copy) as store:
        run_id = sql.latest_run(store)
        ids = store.query("SELECT item_id FROM suspects WHERE run_id = ? AND status = 'mislabeled' "
                          "ORDER BY rank LIMIT 5", [run_id])["item_id"].tolist()
        request_review(store, ids, run_id=run_id, cluster_id=None, requested_by="lead")
        versions.create_version(store, lead, note="before")
        campaigns.create_campaign(store, lead, "fax", campaigns.slice_selection(store, "source", "fax"),
                                  assignees=["a1"], labels_per_item=1)
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES, encoding="utf-8")
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    monkeypatch.setenv("LABELWATCH_ROLES", str(roles))
    monkeypatch.setenv("LABELWATCH_USER", "local-ana")
    return copy


def _app(email: str | None, **claims: object) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email, **claims}
    return at


def _page(email: str | None, page: str, **claims: object) -> AppTest:
    at = _app(email, **claims).run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(f"../{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _sidebar(at: AppTest) -> str:
    return " ".join(str(getattr(e, "value", "")) for e in at.sidebar)


def test_a_visitor_who_is_not_logged_in_sees_the_login_screen_and_nothing_else(tmp_path, monkeypatch):
    store = tmp_path / "never-opened.duckdb"
    monkeypatch.setenv("LABELWATCH_DB", str(store))
    at = _app(None).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["LabelWatch"]
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.sidebar.children and not at.markdown and not at.caption and not at.dataframe
    assert not at.metric and not at.get("plotly_chart") and not at.selectbox
    assert not store.exists()  # no store opened, no demo built: nothing to show before login


def test_a_logged_in_user_sees_their_address_and_role_and_a_log_out_button(db):
    at = _app(REVIEWER).run()
    assert not at.exception
    side = _sidebar(at)
    assert f"Logged in as **{md(REVIEWER)}** · reviewer" in side
    assert "Log out" in [b.label for b in at.sidebar.button]
    assert "Log in" not in [b.label for b in at.button]
    assert "Single-user mode" not in side


def test_without_login_configured_the_sidebar_says_single_user_mode_and_as_whom(db):
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120).run()
    assert not at.exception
    side = _sidebar(at)
    # the roles file names nobody called local-ana: the file's default, a viewer
    assert "Single-user mode: acting as local\\-ana (no login configured) · viewer" in side
    assert not [b for b in at.sidebar.button if b.label in ("Log in", "Log out")]


#: Each page, the role its write controls need, and the controls (keys, or key prefixes ending in "*").
WRITES = [
    ("pages/remediate/review.py", Role.REVIEWER,
     ["FormSubmitter:review.form-Record decision", "review.key.confirm", "review.key.relabel",
      "review.key.escalate"]),
    ("pages/investigate/suspects.py", Role.REVIEWER,
     ["detect.go", "suspects.review.selected", "suspects.review.all"]),
    ("pages/monitor/slices.py", Role.REVIEWER, ["slices.review.send"]),
    ("pages/remediate/policies.py", Role.ADMIN, ["FormSubmitter:policies.apply-*"]),
    ("pages/remediate/campaigns.py", Role.ADMIN,
     ["FormSubmitter:campaigns.create-Create campaign", "FormSubmitter:campaigns.resolve-*"]),
    ("pages/remediate/versions.py", Role.ADMIN,
     ["FormSubmitter:versions.create-Create version", "FormSubmitter:versions.rollback-*"]),
    ("pages/data/data.py", Role.ADMIN, ["FormSubmitter:retract.form-Retract the batch"]),
]


def _drawn(at: AppTest, control: str) -> bool:
    keys = {b.key for b in at.button}
    if control.endswith("*"):
        return any(k.startswith(control[:-1]) for k in keys)
    return control in keys


@pytest.mark.parametrize(("page", "role", "controls"), WRITES, ids=[w[0].split("/")[-1] for w in WRITES])
def test_a_viewer_finds_no_write_control_and_the_role_that_may_write_finds_them(db, page, role, controls):
    viewer = _page(VIEWER, page)
    assert not [c for c in controls if _drawn(viewer, c)], "a viewer was offered a write"
    assert "may not" in " ".join(m.value for m in [*viewer.caption, *viewer.info])  # and told why
    allowed = _page(REVIEWER if role is Role.REVIEWER else ADMIN, page)
    assert [c for c in controls if not _drawn(allowed, c)] == []
    if role is Role.ADMIN:  # a reviewer is below it
        reviewer = _page(REVIEWER, page)
        assert not [c for c in controls if _drawn(reviewer, c)]


def test_only_an_admin_gets_the_import_page_and_a_campaigns_label_import(db):
    for email in (VIEWER, REVIEWER):
        at = _page(email, "pages/data/import_data.py")
        assert not at.get("file_uploader")
        assert any("may not import files: needs the admin role" in i.value for i in at.info)
        assert not _page(email, "pages/remediate/campaigns.py").get("file_uploader")
    assert len(_page(ADMIN, "pages/data/import_data.py").get("file_uploader")) == 1
    assert len(_page(ADMIN, "pages/remediate/campaigns.py").get("file_uploader")) == 1


def test_a_viewer_cannot_run_an_impact_analysis_and_a_reviewer_can(db):
    assert "Run an analysis" not in [e.label for e in _page(VIEWER, "pages/impact/impact.py").expander]
    assert "Run an analysis" in [e.label for e in _page(REVIEWER, "pages/impact/impact.py").expander]


def test_an_address_the_provider_has_not_verified_gets_the_files_default(db):
    at = _page(ADMIN, "pages/remediate/versions.py", email_verified=False)
    assert not _drawn(at, "FormSubmitter:versions.create-Create version")
    assert "· viewer" in _sidebar(at)


def test_with_login_and_no_roles_file_everyone_is_a_viewer(db, monkeypatch):
    monkeypatch.delenv("LABELWATCH_ROLES")
    at = _page(ADMIN, "pages/remediate/review.py")
    assert "· viewer" in _sidebar(at)
    assert not _drawn(at, "FormSubmitter:review.form-Record decision")


def test_a_reviewers_decision_records_their_address_as_the_actor(db):
    at = _page(REVIEWER, "pages/remediate/review.py")
    item = at.dataframe(key="review.table").value.iloc[0]
    at.button(key="FormSubmitter:review.form-Record decision").click().run()
    assert not at.exception
    with Store(db) as store:
        log = sql.action_log(store)
    rows = log[["item_id", "actor", "actor_role"]].values.tolist()
    assert rows == [[item["item_id"], REVIEWER, "reviewer"]]


def test_a_plain_streamlit_run_listens_on_loopback_only():
    # exposing the app is a deliberate --server.address, once login is on (.streamlit/secrets.toml.example)
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"


def test_the_secrets_example_documents_every_key_login_needs():
    # the commented-out [auth] section, uncommented, is a section Streamlit reads
    example = (ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8")
    after = example[example.index("# [auth]"):]
    section = tomllib.loads("\n".join(line.removeprefix("# ") for line in after.splitlines()
                                      if re.match(r"# (\[auth\]|\w+ = )", line)))
    assert set(section["auth"]) == set(AUTH)
