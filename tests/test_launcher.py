"""The sharing launcher with a local process in place of the tunnel: no network involved."""
import http.server
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).parents[1]


def read_until(process, pattern, timeout):
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if match := re.search(pattern, line):
            return match, lines
    raise AssertionError(f"{pattern!r} not seen; output:\n{''.join(lines)}")


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(tmp_path, model_cache, *extra, password="senha-da-equipe", password_name="STUDIO_PASSWORD"):
    env = {**os.environ, "STUDIO_PROFILE": "tiny", "STUDIO_MODEL_CACHE": str(model_cache),
           "STUDIO_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("APP_PASSWORD", None)
    env.pop("STUDIO_PASSWORD", None)
    if password:
        env[password_name] = password
    return subprocess.Popen([sys.executable, "-m", "streamlit_app.launcher", "--no-install", *extra], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_refuses_to_share_without_a_password(tmp_path, model_cache):
    process = launch(tmp_path, model_cache, password=None)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 2 and "refusing to share" in out


def test_starts_reports_the_url_and_restarts_a_dead_tunnel(tmp_path, model_cache):
    port = free_port()
    process = launch(tmp_path, model_cache, "--port", str(port), "--run-seconds", "90",
                     "--tunnel-command", f"{sys.executable} tests/fake_tunnel.py {{port}}")
    try:
        read_until(process, r"password: set", 30)
        match, _ = read_until(process, r"share this URL with your team: (\S+)", 120)
        url = match.group(1)
        assert url.startswith(f"http://localhost:{port}")
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5).read() == b"ok"
        child = f"fake_tunnel.py {port}$"  # the tunnel child only, not the launcher whose arguments name it
        tunnels = subprocess.run(["pgrep", "-f", child], capture_output=True, text=True).stdout.split()
        assert tunnels
        for pid in tunnels:
            os.kill(int(pid), signal.SIGKILL)
        read_until(process, r"tunnel died; restarting it", 30)
        read_until(process, r"share this URL with your team: ", 30)
        restarted = subprocess.run(["pgrep", "-f", child], capture_output=True, text=True).stdout.split()
        assert restarted and set(restarted).isdisjoint(tunnels)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    assert "senha-da-equipe" not in out  # the password itself never reaches the output


def test_refuses_a_blank_short_or_common_password_saying_why(tmp_path, model_cache):
    for password, reason in (("        ", "blank"), ("curta", "5 characters"), ("aaaaaaaaaa", "guessed in about"),
                             ("senha12345", "guessed in about"), ("password123", "common passwords"),
                             ("qwertyuiop", "common passwords"), ("marketing2026", "guessed in about")):
        process = launch(tmp_path, model_cache, password=password)
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 2 and "refusing to share" in out and reason in out, (password, out)
        assert password.strip() == "" or password not in out


def test_the_old_password_name_still_works_and_says_the_new_one(tmp_path, model_cache):
    process = launch(tmp_path, model_cache, password="aaaaaaaaaa", password_name="APP_PASSWORD")
    out, _ = process.communicate(timeout=60)
    assert "call it STUDIO_PASSWORD" in out and "refusing to share" in out  # read, and checked as the new one


def test_the_password_rule_in_core_passes_phrases_and_words_its_reasons_in_portuguese():
    from core.studio.access import password_problem
    for strong in ("senha-da-equipe", "cafe serra azul torra media", "Pão de queijo às 15h!"):
        assert password_problem(strong) is None, strong
    assert password_problem("aaaaaaaa").text("pt-BR") == "a senha da equipe tem 8 caracteres; use pelo menos 10"
    assert password_problem("1234567890").text("pt-BR").startswith("a senha da equipe está nas listas")


class Impostor(http.server.BaseHTTPRequestHandler):
    """Another program on the port, answering the health check as Streamlit does (a passwordless local instance)."""

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_a_busy_port_is_never_tunnelled(tmp_path, model_cache):
    impostor = http.server.HTTPServer(("127.0.0.1", 0), Impostor)
    busy = impostor.server_address[1]
    threading.Thread(target=impostor.serve_forever, daemon=True).start()
    process = launch(tmp_path, model_cache, "--port", str(busy), "--run-seconds", "60",
                     "--tunnel-command", f"{sys.executable} tests/fake_tunnel.py {{port}}")
    try:
        match, lines = read_until(process, rf"port {busy} is taken by another program; using (\d+) instead", 60)
        chosen = int(match.group(1))
        match, _ = read_until(process, r"share this URL with your team: (\S+)", 120)
        assert match.group(1).startswith(f"http://localhost:{chosen}") and chosen != busy
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
        impostor.shutdown()


def test_the_listener_on_a_port_is_known_by_its_process():
    from streamlit_app.launcher import listening_pids
    impostor = http.server.HTTPServer(("127.0.0.1", 0), Impostor)
    try:
        pids = listening_pids(impostor.server_address[1])
        assert pids is None or pids == {os.getpid()}
    finally:
        impostor.server_close()
