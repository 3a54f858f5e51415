"""Access gate: a team password before any page, throttled per client and per session by core's guard, and a
refusal to run openly on a public address."""
from __future__ import annotations

import os
import uuid

import streamlit as st

from core.studio.access import LOGIN_TTL_S, password_problem
from streamlit_app import resources
from core.labels import t

PASSWORD_ENV = "STUDIO_PASSWORD"
PUBLIC_ENV = "STUDIO_PUBLIC"  # set by the launcher that opens a tunnel
ALLOW_OPEN_ENV = "STUDIO_ALLOW_NO_PASSWORD"
LOCAL_ADDRESSES = {"127.0.0.1", "localhost", "::1"}
LOGIN_COOKIE = "studio_login"


def configured_password() -> str | None:
    try:
        secret = st.secrets.get("app_password")
    except Exception:  # no secrets file at all is the common case
        secret = None
    return secret or os.environ.get(PASSWORD_ENV) or None


def exposed() -> bool:
    """Whether the app can be reached from other machines: a tunnel, or listening beyond loopback."""
    address = st.get_option("server.address") or "0.0.0.0"
    return os.environ.get(PUBLIC_ENV) == "1" or address not in LOCAL_ADDRESSES


def require_access(lang: str) -> None:
    """Stop the page here unless this session may see it."""
    password = configured_password()
    if not password:
        if not exposed():
            return
        if os.environ.get(ALLOW_OPEN_ENV) == "1":
            st.warning(t(lang, "open_warning"))
            return
        st.error(t(lang, "refuse_open"))
        st.stop()
    if exposed() and (problem := password_problem(password)):  # a tunnel opened by hand, not by the launcher
        st.error(t(lang, "refuse_weak", why=problem.text(lang)))
        st.stop()
    if st.session_state.get("authenticated") or _remembered(password):
        return
    st.title(t(lang, "app_title"))
    with st.form("password_form"):
        entered = st.text_input(t(lang, "password"), type="password")
        submitted = st.form_submit_button(t(lang, "enter"))
    if submitted:
        _attempt(lang, entered, password)
    st.stop()


def may_upload(cookies: dict[str, str]) -> bool:
    """Whether a request with these cookies may upload a file: a signed-in browser, or anyone where the studio
    runs without a password by choice (on this machine only, or opened on purpose)."""
    password = configured_password()
    if not password:
        return not exposed() or os.environ.get(ALLOW_OPEN_ENV) == "1"
    return resources.studio().logins.check(cookies.get(LOGIN_COOKIE), password) is not None


def _remembered(password: str) -> bool:
    """Let the session in on a valid sign-in token from this browser (a reload, a reconnecting tunnel)."""
    login = resources.studio().logins.check(st.context.cookies.get(LOGIN_COOKIE), password)
    if login is None:
        return False
    st.session_state.update(authenticated=True, login=login)
    st.session_state.setdefault("reviewer", login.name)
    return True


def remember_browser() -> None:
    """Once a teammate is in and named, give this browser a signed token for the working day (never the
    password), so a reload skips the password and the name."""
    ss = st.session_state
    if ss.get("login") is not None:
        return
    logins = resources.studio().logins
    token = logins.issue(ss["reviewer"], configured_password())
    ss["login"] = logins.check(token, configured_password())
    _set_cookie(token, LOGIN_TTL_S)


def sign_out() -> None:
    """Revoke this browser's token and forget who is here; the next run asks again (a callback)."""
    ss = st.session_state
    if login := ss.get("login"):
        resources.studio().logins.revoke(login)
    for key in ("login", "authenticated", "reviewer"):
        ss.pop(key, None)
    ss["clear_cookie"] = True


def clear_cookie_if_asked() -> None:
    if st.session_state.pop("clear_cookie", False):
        _set_cookie("", 0)


def _set_cookie(value: str, max_age_s: int) -> None:
    # the token holds only base64url and hex characters, so it cannot break out of the script
    assert all(c.isalnum() or c in "-_=." for c in value)
    st.html(f"""<script>document.cookie = "{LOGIN_COOKIE}={value}; path=/; max-age={max_age_s}; SameSite=Strict"
            + (location.protocol === "https:" ? "; Secure" : "");</script>""", unsafe_allow_javascript=True)


def client_address() -> str | None:
    """The caller's address. Behind the launcher's tunnel every connection is local, so it is the address the
    tunnel's proxy appended last to X-Forwarded-For (earlier entries are the caller's to forge); None where
    nothing tells callers apart."""
    address = st.context.ip_address
    if os.environ.get(PUBLIC_ENV) != "1":  # no tunnel in front: the connection's own address, headers ignored
        return address or None
    forwarded = (st.context.headers or {}).get("X-Forwarded-For", "")
    if forwarded.strip():
        return forwarded.split(",")[-1].strip() or None
    return None  # the tunnel's local connection, with nothing forwarded: it could be anyone


def _attempt(lang: str, entered: str, password: str) -> None:
    ss = st.session_state
    session = ss.setdefault("gate_session", uuid.uuid4().hex)
    verdict = resources.studio().access.attempt(entered, password, client_address(), session)
    if verdict.allowed:
        ss["authenticated"] = True
        st.rerun()
    st.error(t(lang, "wait", s=verdict.wait_s) if verdict.waiting else t(lang, "wrong_password"))
