"""The password throttle against a real `streamlit run` behind each tunnel set-up, driven by bare websocket clients
that submit the password form as a browser would, forging every header they like: a new X-Forwarded-For or
Cf-Connecting-Ip per guess, parallel guessers, and a teammate with the right password in the middle of it."""
import asyncio
import time

import pytest
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from core.studio.access import FREE_ATTEMPTS, LoginTokens
from servers import studio_server

PASSWORD = "s3nha-da-equipe"


async def _until_finished(socket) -> list:
    """The elements one script run sends, until it finishes."""
    elements = []
    while True:
        message = ForwardMsg()
        message.ParseFromString(await asyncio.wait_for(socket.recv(), 60))
        if message.HasField("delta") and message.delta.HasField("new_element"):
            elements.append(message.delta.new_element)
        if message.HasField("script_finished"):
            return elements


async def try_password(url: str, password: str, headers: list | None = None, cookie: str = "") -> str:
    """Open a session, type password into the form and submit it; what the page then says: "in" (the name is
    asked), "wrong", "wait" or the error text. headers: (name, value) pairs, a name may repeat."""
    extra = [*(headers or []), *([("Cookie", cookie)] if cookie else [])]
    async with websockets.connect(url.replace("http", "ws") + "/_stcore/stream", subprotocols=["streamlit"],
                                  additional_headers=extra) as socket:
        start = BackMsg()
        start.rerun_script.query_string = ""
        await socket.send(start.SerializeToString())
        elements = await _until_finished(socket)
        field = next(e.text_input for e in elements if e.WhichOneof("type") == "text_input")
        submit = next(e.button for e in elements if e.WhichOneof("type") == "button" and e.button.is_form_submitter)
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        typed = rerun.rerun_script.widget_states.widgets.add()
        typed.id, typed.string_value = field.id, password
        pressed = rerun.rerun_script.widget_states.widgets.add()
        pressed.id, pressed.trigger_value = submit.id, True
        await socket.send(rerun.SerializeToString())
        said = []
        for _ in range(3):  # the submit's run, and the rerun a right password starts
            elements = await _until_finished(socket)
            said = [e.alert.body for e in elements if e.WhichOneof("type") == "alert"]
            labels = [e.text_input.label for e in elements if e.WhichOneof("type") == "text_input"]
            if "Seu nome" in labels:
                return "in"
            if said:
                break
        text = " ".join(said)
        return "wrong" if "Senha incorreta" in text else "wait" if "Muitas tentativas" in text else text


def guesses_checked(url: str, attempts: int, headers_of, parallel: int = 1, seconds: float = 60) -> tuple[int, int]:
    """(guesses the server compared, attempts made): parallel guessers, each with headers_of(n), until attempts were
    made (or seconds passed)."""
    async def guesser(offset: int, results: list) -> None:
        n = offset
        deadline = time.monotonic() + seconds
        while len(results) < attempts and time.monotonic() < deadline:
            results.append(await try_password(url, f"chute-{n}", headers_of(n)))
            n += parallel

    async def run() -> list:
        results = []
        await asyncio.gather(*(guesser(i, results) for i in range(parallel)))
        return results
    results = asyncio.run(run())
    return results.count("wrong"), len(results)


ATTEMPTS = 4 * FREE_ATTEMPTS  # guesses an attacker makes in each test: four times what it may have compared


def forged(n: int) -> str:
    return f"10.1.{n // 250}.{n % 250}"


@pytest.mark.parametrize("tunnel, forge", [
    # the caller's own X-Forwarded-For line, then the one localtunnel's proxy adds
    ("localtunnel", lambda n: [("X-Forwarded-For", forged(n)), ("X-Forwarded-For", "203.0.113.7")]),
    ("cloudflared", lambda n: [("X-Forwarded-For", forged(n)), ("Cf-Connecting-Ip", "203.0.113.7")]),
    ("", lambda n: [("X-Forwarded-For", forged(n)), ("X-Real-Ip", forged(n + 1))])])
def test_rotated_forged_headers_get_no_more_than_the_free_guesses(tmp_path, model_cache, tunnel, forge):
    """Each set-up as its tunnel delivers a request: localtunnel's proxy appends the real caller last,
    Cloudflare's edge sets Cf-Connecting-Ip; without a known tunnel every forwarding header is ignored. The caller
    forges a new address in the part it controls on every guess, from 4 connections at once."""
    with studio_server(tmp_path, model_cache, STUDIO_PASSWORD=PASSWORD, STUDIO_PUBLIC="1",
                       STUDIO_TUNNEL=tunnel) as url:
        checked, made = guesses_checked(url, ATTEMPTS, forge, parallel=4)
        print(f"tunnel {tunnel or 'none'}: {checked} of {made} guesses checked from 4 connections")
        assert checked <= FREE_ATTEMPTS and made >= ATTEMPTS  # the rest were told to wait, uncompared


def test_the_right_password_gets_in_during_a_flood_from_a_known_browser(tmp_path, model_cache):
    with studio_server(tmp_path, model_cache, STUDIO_PASSWORD=PASSWORD, STUDIO_PUBLIC="1",
                       STUDIO_TUNNEL="localtunnel") as url:
        attacker = [("X-Forwarded-For", "203.0.113.7")]
        guesses_checked(url, ATTEMPTS, lambda n: attacker, parallel=4)  # the attacker is made to wait
        # a teammate on another address walks in
        assert asyncio.run(try_password(url, PASSWORD, [("X-Forwarded-For", "198.51.100.20")])) == "in"
        # behind a tunnel that forwards no address, the attacker's wait is everyone's without a device cookie...
        unknown = asyncio.run(try_password(url, PASSWORD))
        for n in range(FREE_ATTEMPTS):
            asyncio.run(try_password(url, f"chute-{n}"))
        assert asyncio.run(try_password(url, PASSWORD)) == "wait", unknown
        # ... but a browser that signed in before carries its device token and is never made to wait for others
        device = LoginTokens(tmp_path / "data").issue("Bia", PASSWORD, "device")
        assert asyncio.run(try_password(url, PASSWORD, cookie=f"studio_device={device}")) == "in"
        forged = device[:-4] + ("0000" if not device.endswith("0000") else "1111")
        assert asyncio.run(try_password(url, PASSWORD, cookie=f"studio_device={forged}")) == "wait"
