"""The text server's API key never leaves the process: a real HTTP server that echoes the request's headers in its
error answers, in every shape, and the key is in no error text, record or export."""
import http.server
import json
import threading

import pytest

from core.content.brief import Brief
from core.errors import CoreError
from core.studio.history import HistoryStore
from core.studio.jobs import write_post
from core.studio.progress import Progress
from core.text.openai_engine import OpenAIEngine, ServerSpec

KEY = "sk-proj-Abc123SECRETxyz789"


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers every request with an error whose body repeats the headers it got, as some proxies do."""

    status = 500

    def _answer(self):
        headers = dict(self.headers)
        body = {"error": {"message": f"bad request, headers were {headers}",
                          "headers": headers, "auth": self.headers.get("Authorization")}}
        data = json.dumps(body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(params=[500, 400, 401, 422])
def echo_server(request):
    handler = type("EchoWith", (Echo,), {"status": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_an_echoing_server_never_gets_the_key_into_an_error_a_record_or_stderr(echo_server, tmp_path, capfd):
    engine = OpenAIEngine(ServerSpec(base_url=echo_server, model="llama", api_key=KEY))
    store = HistoryStore(tmp_path)
    with pytest.raises(CoreError) as failed:
        write_post(Progress(), Brief(product="Café"), lambda: engine, store, "Ana")
    for language in ("pt-BR", "en", "es"):
        said = failed.value.text(language)
        assert KEY not in said and "SECRET" not in said, said
    assert "[key hidden]" in str(failed.value) or failed.value.code == "server_refused_key"
    try:  # a server that cannot list its models may still serve: check() raises only where it can tell
        engine.check()
    except CoreError as checked:
        assert KEY not in str(checked)
    out, err = capfd.readouterr()
    assert KEY not in out + err
    assert all(KEY not in path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file())
