"""Sign-in for the pages: who is using this session, the sign-in form and the account box.

The session keeps only a :class:`geoapp.auth.User` that :func:`geoapp.auth.verify`
made; every write re-checks it against the accounts file (:mod:`geoapp.auth`).
"""

from __future__ import annotations

import logging

import streamlit as st

from geoapp import auth
from pages.text import t

log = logging.getLogger("geoapp.ui")


# --- sign-in: who is using this session -------------------------------------------------
# The verified User lives in this session's state only (never in st.cache_*, which is
# shared between sessions); geoapp.auth.verify made it, so the store trusts it.
USER_KEY = "geoapp_user"
_REVOKED_KEY = "geoapp_user_revoked"


def current_user() -> auth.User | None:
    """This session's User; signed out here if its account was since deleted or changed."""
    user = st.session_state.get(USER_KEY)
    if not isinstance(user, auth.User) or not user.signed_in:
        return None
    try:
        auth.require_signed_in(user)
    except PermissionError as exc:
        log.warning("signing %r out: %s", user.name, exc)
        st.session_state.pop(USER_KEY, None)
        st.session_state[_REVOKED_KEY] = True
        return None
    return user


def view_locked() -> bool:
    """Whether this session must sign in before it sees anything (VIEW_REQUIRES_SIGNIN)."""
    return not auth.can_view(current_user())


def _client_address() -> str | None:
    # None on localhost; spoofable behind a careless proxy, so only the per-client limit
    # rests on it, never the per-name one.
    address = getattr(st.context, "ip_address", None)
    return address if isinstance(address, str) else None


def _sign_in(name: str, password: str) -> str | None:
    """Sign in and rerun; or the message to show when that failed."""
    try:
        user = auth.verify(name.strip(), password, client=_client_address())
    except auth.SignInThrottled as exc:
        return t("signin.throttled").format(minutes=exc.minutes, time=f"{exc.until:%H:%M}")
    except auth.AccountsError:
        log.exception("accounts file unusable")
        user = None
    if user is None:
        return t("signin.failed")
    st.session_state[USER_KEY] = user
    st.session_state.pop(_REVOKED_KEY, None)
    st.rerun()
    return None  # pragma: no cover - st.rerun() does not return


def sign_in_form(*, where: str = "sidebar") -> None:
    """The sign-in form (name, password); on success the User goes into session state."""
    box = st.sidebar if where == "sidebar" else st
    with box.form("signin_form", clear_on_submit=True, border=where == "main"):
        name = st.text_input(t("signin.name"), key="signin_name", autocomplete="username")
        password = st.text_input(
            t("signin.password"),
            type="password",
            key="signin_password",
            autocomplete="current-password",
        )
        submitted = st.form_submit_button(t("signin.submit"), key="signin_submit")
    failed = _sign_in(name, password) if submitted else None
    if failed:
        box.error(failed)


def account_sidebar() -> None:
    """Who is signed in and a sign-out button; or the sign-in form, folded away."""
    user = current_user()
    if user is not None:
        role = t(f"role.{user.role}")
        st.sidebar.caption(t("signin.as").format(name=user.name, role=role))
        if st.sidebar.button(t("signin.sign_out"), key="signout"):
            st.session_state.pop(USER_KEY, None)
            st.rerun()
        return
    revoked = st.session_state.get(_REVOKED_KEY, False)
    if revoked:
        st.sidebar.warning(t("signin.revoked"))
    with st.sidebar.expander(t("signin.title"), expanded=revoked):
        sign_in_form(where="expander")


def sign_in_page() -> None:
    """What a locked dashboard shows instead of any page: the title and the sign-in form."""
    st.title(t("app.title"))
    st.info(t("signin.required"))
    if st.session_state.get(_REVOKED_KEY, False):
        st.warning(t("signin.revoked"))
    sign_in_form(where="main")
