"""Access gate: a team password before any page, throttled, and a refusal to run openly on a public address."""
from __future__ import annotations

import hmac
import os
import threading
import time

import streamlit as st

from streamlit_app.strings import t

PASSWORD_ENV = "STUDIO_PASSWORD"
PUBLIC_ENV = "STUDIO_PUBLIC"  # set by the launcher that opens a tunnel
ALLOW_OPEN_ENV = "STUDIO_ALLOW_NO_PASSWORD"
LOCAL_ADDRESSES = {"127.0.0.1", "localhost", "::1"}
FREE_ATTEMPTS = 3
MAX_LOCK_S = 300
GLOBAL_WINDOW_S, GLOBAL_MAX_FAILURES, GLOBAL_LOCK_S = 60, 10, 30


@st.cache_resource(show_spinner=False)
def _global_failures() -> dict:
    """Failures across every session, so opening new sessions does not reset the throttle."""
    return {"lock": threading.Lock(), "times": [], "locked_until": 0.0}


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
    if st.session_state.get("authenticated"):
        return
    st.title(t(lang, "app_title"))
    with st.form("password_form"):
        entered = st.text_input(t(lang, "password"), type="password")
        submitted = st.form_submit_button(t(lang, "enter"))
    if submitted:
        _attempt(lang, entered, password)
    st.stop()


def _attempt(lang: str, entered: str, password: str) -> None:
    ss = st.session_state
    now = time.monotonic()
    shared = _global_failures()
    with shared["lock"]:
        locked_until = max(ss.get("locked_until", 0.0), shared["locked_until"])
    if now < locked_until:
        st.error(t(lang, "wait", s=int(locked_until - now) + 1))
        return
    if hmac.compare_digest(entered.encode("utf-8"), password.encode("utf-8")):
        ss["authenticated"] = True
        ss["failed_attempts"] = 0
        st.rerun()
    ss["failed_attempts"] = ss.get("failed_attempts", 0) + 1
    with shared["lock"]:
        shared["times"] = [x for x in shared["times"] if now - x < GLOBAL_WINDOW_S] + [now]
        if len(shared["times"]) >= GLOBAL_MAX_FAILURES:
            shared["locked_until"] = now + GLOBAL_LOCK_S
    if ss["failed_attempts"] >= FREE_ATTEMPTS:
        ss["locked_until"] = now + min(5 * 2 ** (ss["failed_attempts"] - FREE_ATTEMPTS), MAX_LOCK_S)
    st.error(t(lang, "wrong_password"))
