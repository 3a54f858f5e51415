"""A hostile client against a real `streamlit run` behind the launcher's settings (team password, public): it
skips the login, guesses passwords, clears the server's caches over a raw websocket and uploads files. None of it
resets the guard, locks the team out, or lands in the server's memory: only a signed-in browser uploads."""
import asyncio
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie

import pytest
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from core.studio.access import FREE_ATTEMPTS, LoginTokens
from servers import studio_server
from test_browser import CHROMIUM_FLAGS

PASSWORD = "s3nha-da-equipe"
ATTACKER, TEAMMATE = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def public_server(tmp_path, model_cache):
    with studio_server(tmp_path, model_cache, STUDIO_PASSWORD=PASSWORD, STUDIO_PUBLIC="1",
                       STUDIO_TUNNEL="localtunnel") as url:  # its proxy appends the caller to X-Forwarded-For
        yield url


def xsrf_cookie(url: str) -> str:
    with urllib.request.urlopen(url + "/_stcore/health") as response:  # where the server hands the cookie out
        cookie = SimpleCookie(response.headers.get("Set-Cookie", ""))
    return cookie["_streamlit_xsrf"].value


async def raw_session(url: str, *messages: BackMsg, while_connected=None):
    """Connect as a bare websocket client (no browser, no login), start a run, send messages, then call
    while_connected(session id) with the session still open; returns what it returns."""
    async with websockets.connect(url.replace("http", "ws") + "/_stcore/stream", subprotocols=["streamlit"],
                                  additional_headers={"X-Forwarded-For": ATTACKER}) as socket:
        start = BackMsg()
        start.rerun_script.query_string = ""
        await socket.send(start.SerializeToString())
        session_id = None
        while session_id is None:
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(socket.recv(), 60))
            if message.HasField("new_session"):
                session_id = message.new_session.initialize.session_id
        for back in messages:
            await socket.send(back.SerializeToString())
        await asyncio.sleep(1.0)
        return await asyncio.to_thread(while_connected, session_id) if while_connected else None


def test_a_cache_clear_from_an_unauthenticated_client_resets_nothing(public_server, chromium):
    from playwright.sync_api import expect, sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)

        def page_from(address):
            page = browser.new_context(extra_http_headers={"X-Forwarded-For": f"10.9.9.9, {address}"}).new_page()
            page.set_default_timeout(60_000)
            page.goto(public_server)
            return page

        def try_password(page, password):
            page.get_by_label("Senha da equipe").fill(password)
            page.get_by_role("button", name="Entrar").click()
            page.wait_for_timeout(700)

        # 1. an attacker spends its free guesses and is made to wait
        attacker = page_from(ATTACKER)
        for guess in range(FREE_ATTEMPTS):
            try_password(attacker, f"chute-{guess}")
        try_password(attacker, PASSWORD)
        expect(attacker.get_by_text("Muitas tentativas")).to_be_visible()
        # 2. the same attacker, as a bare websocket client, clears every cache of the server
        clear = BackMsg()
        clear.clear_cache = True
        with ThreadPoolExecutor(1) as outside:  # Playwright's own event loop runs in this thread
            outside.submit(asyncio.run, raw_session(public_server, clear)).result()
        # 3. a new session from the attacker's address still waits: the guard lives in core, not in a cache
        again = page_from(ATTACKER)
        try_password(again, PASSWORD)
        expect(again.get_by_text("Muitas tentativas")).to_be_visible()
        expect(again.get_by_label("Seu nome")).to_have_count(0)
        # 4. a teammate elsewhere was never locked out
        teammate = page_from(TEAMMATE)
        try_password(teammate, PASSWORD)
        expect(teammate.get_by_label("Seu nome")).to_be_visible()
        browser.close()


HUNG_UP = 0


def upload(url: str, session_id: str, size: int, login: str = "") -> int:
    """PUT a file of size bytes as st.file_uploader would, with a sign-in cookie if given; the HTTP status."""
    token = xsrf_cookie(url)
    body = (b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n" + b"\0" * size
            + b"\r\n--x--\r\n")
    cookies = f"_streamlit_xsrf={token}" + (f"; studio_login={login}" if login else "")
    request = urllib.request.Request(f"{url}/_stcore/upload_file/{session_id}/file-{size}", data=body, method="PUT",
                                     headers={"Content-Type": "multipart/form-data; boundary=x", "X-Xsrftoken": token,
                                              "Cookie": cookies})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code
    except urllib.error.URLError:  # the server answered and hung up while the body was still being sent
        return HUNG_UP


def test_uploads_need_a_signed_in_browser_and_stay_within_the_limit(public_server, tmp_path):
    logins = LoginTokens(tmp_path / "data")  # the server's data folder: the same signing key
    valid = logins.issue("Ana", PASSWORD)
    revoked = logins.issue("Bia", PASSWORD)
    logins.revoke(logins.check(revoked, PASSWORD))
    forged = valid[:-4] + ("0000" if not valid.endswith("0000") else "1111")
    other_password = logins.issue("Ana", "another password")
    statuses = asyncio.run(raw_session(public_server, while_connected=lambda session: [
        upload(public_server, session, 100),  # no sign-in at all
        upload(public_server, session, 9_000_000),
        upload(public_server, session, 100, forged),
        upload(public_server, session, 100, revoked),
        upload(public_server, session, 100, other_password),
        upload(public_server, session, 100, valid),  # a teammate's browser: lands
        upload(public_server, session, 25 * 2**20, valid),  # over the 20 MB limit, even signed in
    ]))
    refused_unread, too_large = statuses.pop(1), statuses.pop()
    assert statuses == [403, 403, 403, 403, 204]
    assert refused_unread in (403, HUNG_UP) and too_large in (413, HUNG_UP)  # refused before the body was read


def test_a_reload_keeps_the_sign_in_a_forged_cookie_does_not_and_signing_out_ends_it(public_server, chromium):
    from playwright.sync_api import expect, sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        context = browser.new_context(extra_http_headers={"X-Forwarded-For": TEAMMATE})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(public_server)
        page.get_by_label("Senha da equipe").fill(PASSWORD)
        page.get_by_role("button", name="Entrar").click()
        page.get_by_label("Seu nome").fill("Ana")
        page.get_by_role("button", name="Entrar").click()
        expect(page.get_by_role("button", name="Sair")).to_be_visible()
        [cookie] = [c for c in context.cookies() if c["name"] == "studio_login"]
        assert PASSWORD not in cookie["value"] and cookie["sameSite"] == "Strict"
        # 1. a reload (or a tunnel reconnecting) asks for nothing
        page.reload()
        expect(page.get_by_role("button", name="Sair")).to_be_visible()
        expect(page.get_by_label("Senha da equipe")).to_have_count(0)
        expect(page.get_by_text("Ana")).to_be_visible()
        # 2. a cookie made up by someone else opens nothing
        stranger = browser.new_context(extra_http_headers={"X-Forwarded-For": ATTACKER})
        body = cookie["value"].split(".")[0]
        stranger.add_cookies([{**cookie, "value": f"{body}.{'0' * 64}"}])
        intruder = stranger.new_page()
        intruder.goto(public_server)
        expect(intruder.get_by_label("Senha da equipe")).to_be_visible()
        # 3. signing out revokes the token: the stolen value no longer works anywhere
        page.get_by_role("button", name="Sair").click()
        expect(page.get_by_label("Senha da equipe")).to_be_visible()
        thief = browser.new_context(extra_http_headers={"X-Forwarded-For": ATTACKER})
        thief.add_cookies([cookie])
        stolen = thief.new_page()
        stolen.goto(public_server)
        expect(stolen.get_by_label("Senha da equipe")).to_be_visible()
        browser.close()
