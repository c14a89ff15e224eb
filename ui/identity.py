"""Who is using the app, and what they may do: the logged-in user when login is configured, else the one
local user.

Login
-----
With an ``[auth]`` section in ``.streamlit/secrets.toml`` (an OpenID Connect provider, see
``.streamlit/secrets.toml.example``) the app requires login: ``require_login``, called by the main page script
(``ui/frame.py``) before anything else, shows a visitor who is not logged in the product's name and one "Log
in" button and stops the run (no store is opened, no data shown). A logged-in user is their e-mail address:
recorded with every write they make, and the key of their role in the roles file (``LABELWATCH_ROLES``; a full
address or an ``@domain``, case-insensitively; anyone else gets the file's ``default``, a viewer unless it
says otherwise). An address the provider says it has not verified (``email_verified = false``) gets the
default as well: an unverified address could be anyone's. With login and no roles file, everyone is a viewer:
a login alone never grants a write.

Single-user mode
----------------
Without ``[auth]`` the app acts as one configured local user (``local_user`` in the secrets, else
``LABELWATCH_USER``, else "local"), an admin unless a roles file names them otherwise, and the sidebar says
so. Anyone who can reach such a server acts as that user: serve it on 127.0.0.1 only.
"""

from __future__ import annotations

import os

import streamlit as st

from analytics.remediation.roles import Actor, Role, RoleBook, role_book
from ui.safe_text import md

#: Name recorded as ``created_by`` when there is no login and no ``local_user`` in the secrets.
LOCAL_USER = "local"
#: Who acts when login is configured and nobody is logged in (``require_login`` stops such a run first).
NOBODY = "(not logged in)"
PRODUCT = "LabelWatch"


def login_configured() -> bool:
    """Whether the secrets hold an ``[auth]`` section, so the app requires login."""
    return bool(st.secrets.load_if_toml_exists() and st.secrets.get("auth"))


def logged_in() -> bool:
    """Whether the session's user has logged in through the OpenID Connect provider."""
    return bool(st.user.get("is_logged_in"))


def user_name() -> str:
    """The current user: their e-mail when logged in, else ``local_user`` from the secrets, else
    ``LABELWATCH_USER`` (as the CLI), else "local".

    Returns
    -------
    str
        Recorded with every write (an import batch's ``created_by``, a retraction's ``retracted_by``, a
        remediation action's ``actor``). With login configured and nobody logged in: ``NOBODY``, whose
        role is viewer.
    """
    if login_configured():
        if not logged_in():
            return NOBODY
        return str(st.user.get("email") or st.user.get("sub") or NOBODY).strip() or NOBODY
    if st.secrets.load_if_toml_exists() and st.secrets.get("local_user"):
        return str(st.secrets.get("local_user"))
    return os.environ.get("LABELWATCH_USER") or LOCAL_USER


def roles() -> RoleBook:
    """The roles in force: the roles file's; with login and no roles file, everyone a viewer.

    Raises
    ------
    ValueError
        The roles file is missing, not TOML or names an unknown role (``analytics.remediation.roles``).
    """
    book = role_book()
    if login_configured() and book.single_user:
        return RoleBook(single_user=False)
    return book


def actor() -> Actor:
    """The current user with their role: what every write of the app passes to the engine."""
    book = roles()
    name = user_name()
    if login_configured() and (name == NOBODY or not _verified_email()):
        return Actor(name, Role.VIEWER if name == NOBODY else book.default)
    return book.actor(name)


def may(role: Role) -> bool:
    """Whether the current user holds ``role`` (or a higher one): pages draw a write control only then."""
    return actor().role >= role


def needs(role: Role, doing: str) -> str:
    """The words a page shows in place of a control the current user may not use, as the engine words its
    refusal: "ana@x.org (viewer) may not import files: needs the admin role." (Markdown, the name
    escaped)."""
    me = actor()
    return f"{md(me.name)} ({me.role}) may not {doing}: needs the {role} role."


def require_login() -> None:
    """Gate the app on login and say who is using it; the main page script (``ui/frame.py``) calls it first.

    Login configured and nobody logged in: draw the login screen (the product's name and one "Log in"
    button) and stop the run. Logged in: the user's e-mail, role and a "Log out" button in the sidebar.
    No login configured: the sidebar says the app runs in single-user mode, as whom.
    """
    if not login_configured():
        me = actor()
        st.sidebar.caption(f"Single-user mode: acting as {md(me.name)} (no login configured) · {me.role}")
        return
    if not logged_in():
        st.title(PRODUCT)
        st.button("Log in", key="identity.login", type="primary", on_click=st.login,
                  icon=":material/login:")
        st.stop()
    me = actor()
    with st.sidebar:
        st.caption(f"Logged in as **{md(me.name)}** · {me.role}")
        st.button("Log out", key="identity.logout", on_click=st.logout, icon=":material/logout:")


def _verified_email() -> bool:
    # Only an address the provider vouches for (or says nothing against) may carry a role of its own.
    return bool(st.user.get("email")) and st.user.get("email_verified") is not False
