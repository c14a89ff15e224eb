"""Who is using the app: the logged-in user when OIDC is configured, else the single local user."""

from __future__ import annotations

import os

import streamlit as st

#: Name recorded as ``created_by`` when there is no login and no ``local_user`` in the secrets.
LOCAL_USER = "local"


def user_name() -> str:
    """The current user's e-mail (or name) when logged in, else ``local_user`` from the secrets, else
    ``LABELWATCH_USER`` (as the CLI), else "local".

    Returns
    -------
    str
        Recorded with every write, e.g. as an import batch's ``created_by``.
    """
    if st.user.get("is_logged_in"):
        return str(st.user.get("email") or st.user.get("name") or LOCAL_USER)
    if st.secrets.load_if_toml_exists() and st.secrets.get("local_user"):
        return str(st.secrets.get("local_user"))
    return os.environ.get("LABELWATCH_USER") or LOCAL_USER
