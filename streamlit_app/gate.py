"""Access gate: a team password before any page, throttled per client and per session by core's guard, and a
refusal to run openly on a public address."""
from __future__ import annotations

import os
import uuid

import streamlit as st

from core.studio.access import DEVICE_TTL_S, LOGIN_TTL_S, password_problem
from streamlit_app import resources
from core.labels import t

PASSWORD_ENV = "STUDIO_PASSWORD"
PUBLIC_ENV = "STUDIO_PUBLIC"  # set by the launcher that opens a tunnel
TUNNEL_ENV = "STUDIO_TUNNEL"  # which tunnel the launcher opened: localtunnel, cloudflared, custom
ALLOW_OPEN_ENV = "STUDIO_ALLOW_NO_PASSWORD"
LOCAL_ADDRESSES = {"127.0.0.1", "localhost", "::1"}
LOGIN_COOKIE = "studio_login"
DEVICE_COOKIE = "studio_device"


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
    _set_cookie(LOGIN_COOKIE, token, LOGIN_TTL_S)
    if logins.check(st.context.cookies.get(DEVICE_COOKIE), configured_password(), "device") is None:
        _set_cookie(DEVICE_COOKIE, logins.issue(ss["reviewer"], configured_password(), "device"), DEVICE_TTL_S)


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
        _set_cookie(LOGIN_COOKIE, "", 0)  # the device cookie stays: this browser is still a teammate's


def _set_cookie(name: str, value: str, max_age_s: int) -> None:
    # the token holds only base64url and hex characters, so it cannot break out of the script
    assert all(c.isalnum() or c in "-_=." for c in value)
    st.html(f"""<script>document.cookie = "{name}={value}; path=/; max-age={max_age_s}; SameSite=Strict"
            + (location.protocol === "https:" ? "; Secure" : "");</script>""", unsafe_allow_javascript=True)


def client_address() -> str | None:
    """The caller's address as the guard counts it, from what no caller can write:
    - localtunnel: its public proxy appends the caller's address to X-Forwarded-For (as a header line of its own,
      after any the caller sent), so the last entry of all the lines; the earlier ones are the caller's to forge;
    - cloudflared: Cloudflare's edge sets Cf-Connecting-Ip, overwriting any the caller sent;
    - anything else (no tunnel, or one the launcher did not start): the connection's own peer, every header
      ignored; where a forwarding header came along, the web server may have taken the peer from it, so the
      caller is unknown (None: all such callers share one count)."""
    headers = st.context.headers
    tunnel = os.environ.get(TUNNEL_ENV, "")
    lines = headers.get_all("X-Forwarded-For")
    if tunnel == "localtunnel":
        entries = [entry.strip() for line in lines for entry in line.split(",") if entry.strip()]
        return entries[-1] if entries else None
    if tunnel == "cloudflared":
        return (headers.get("Cf-Connecting-Ip") or "").strip() or None
    if lines or any(name in headers for name in ("Forwarded", "X-Real-Ip")):
        return None
    return st.context.ip_address


def _attempt(lang: str, entered: str, password: str) -> None:
    ss = st.session_state
    session = ss.setdefault("gate_session", uuid.uuid4().hex)
    device = resources.studio().logins.check(st.context.cookies.get(DEVICE_COOKIE), password, "device")
    verdict = resources.studio().access.attempt(entered, password, client_address(), session,
                                                device.token_id if device else None)
    if verdict.allowed:
        ss["authenticated"] = True
        st.rerun()
    st.error(t(lang, "wait", s=verdict.wait_s) if verdict.waiting else t(lang, "wrong_password"))
