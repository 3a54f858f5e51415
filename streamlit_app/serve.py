"""Entry point of the web studio: `streamlit run streamlit_app/serve.py`.

Streamlit's own server runs the pages of app.py, with one guard in front of it: a file upload is refused unless the
browser sending it is signed in, before a byte of the file is read. Streamlit accepts uploads from any open
websocket session, and a session opens without the password.

The models start loading when the server starts, before anyone signs in: a restarted server is ready, or nearly,
when the team comes back to the page."""
import logging
import sys
import threading
from contextlib import asynccontextmanager
from pathlib import Path

# `streamlit run` puts this folder on the path, not the project root where core lives.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402

from core.errors import CoreError  # noqa: E402
from core.studio.root import get_studio  # noqa: E402
from streamlit_app import gate  # noqa: E402

UPLOADS = "/_stcore/upload_file/"
log = logging.getLogger(__name__)


class SignedInUploads:
    """ASGI middleware: uploads only from signed-in browsers; every other request passes untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "PUT" and UPLOADS in scope["path"]:
            if not gate.may_upload(Request(scope).cookies):
                await PlainTextResponse("Sign in first", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def preload() -> None:
    """The process's Studio (the one the pages' resources.studio() hands out) built and its models' loading queued
    (the full profile), off the server's event loop."""
    try:
        get_studio().preload()
    except CoreError as error:  # a bad setting: every page words it for whoever signs in
        log.warning("the studio could not start loading its models: %s", error)


@asynccontextmanager
async def lifespan(_app):
    threading.Thread(target=preload, name="preload", daemon=True).start()
    yield


app = st.App("app.py", middleware=[Middleware(SignedInUploads)], lifespan=lifespan)
