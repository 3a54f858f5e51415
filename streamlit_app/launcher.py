"""Starts the studio for sharing: installs, reads secrets, runs Streamlit in the background, opens a tunnel,
prints the URL, and restarts the tunnel (or the app) when it dies.

    python -m streamlit_app.launcher [--tunnel localtunnel|cloudflared] [--port 8501]
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from core.studio.access import password_problem

ROOT = Path(__file__).resolve().parents[1]
TUNNELS = {
    "localtunnel": "npx --yes localtunnel --port {port}",
    "cloudflared": "cloudflared tunnel --no-autoupdate --url http://127.0.0.1:{port}",
}
URL = re.compile(r"https?://[^\s\"'|]+")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def any_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_pids(port: int) -> set[int] | None:
    """The processes listening on 127.0.0.1:port, from /proc (None where /proc cannot tell)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            return None
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(fields[9])
    sockets = {f"socket:[{inode}]" for inode in inodes}
    pids = set()
    for fd_folder in Path("/proc").glob("[0-9]*/fd"):
        try:
            descriptors = list(fd_folder.iterdir())
        except OSError:  # gone, or not ours to read
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(descriptor) in sockets:
                    pids.add(int(fd_folder.parent.name))
                    break
            except OSError:  # closed while we looked
                continue
    return pids


def say(text: str) -> None:
    print(f"[launcher] {text}", flush=True)


def read_secret(name: str) -> str | None:
    """A Colab secret (the key icon in the left bar) if running in Colab, else an environment variable."""
    try:
        from google.colab import userdata  # type: ignore
        value = userdata.get(name)
        if value:
            return value
    except Exception:  # not in Colab, or the secret is not shared with this notebook
        pass
    return os.environ.get(name) or None


def install() -> None:
    say("installing requirements (a few minutes on a fresh runtime)")
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["-r", str(ROOT / "requirements.txt")], check=True)
    subprocess.run(pip + ["--no-deps", "-r", str(ROOT / "requirements-nodeps.txt")], check=True)


def start_app(port: int, env: dict) -> subprocess.Popen:
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app" / "serve.py"),
               "--server.port", str(port), "--server.address", "127.0.0.1"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"streamlit exited with code {process.returncode}")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                owners = listening_pids(port)
                if owners is not None and process.pid not in owners:  # something else answered on our port
                    process.kill()
                    raise SystemExit(f"another program answers on 127.0.0.1:{port}; refusing to share it")
                say(f"app is up on 127.0.0.1:{port}")
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("streamlit did not answer its health check within 120 s")


class Tunnel:
    """A tunnel process whose output is read for the public URL."""

    def __init__(self, command: str, port: int):
        self.command = shlex.split(command.format(port=port))
        self.url: str | None = None
        self.process: subprocess.Popen | None = None
        self.found = threading.Event()

    def start(self) -> None:
        self.url = None
        self.found.clear()
        self.process = subprocess.Popen(self.command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            match = URL.search(line)
            if match and not self.found.is_set() and "127.0.0.1" not in line.split("url", 1)[0]:
                self.url = match.group(0)
                self.found.set()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tunnel", choices=sorted(TUNNELS), default="localtunnel")
    parser.add_argument("--tunnel-command", help="a custom tunnel command; {port} is replaced by the app's port")
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--no-install", action="store_true", help="skip pip install")
    parser.add_argument("--allow-no-password", action="store_true",
                        help="share without a password (everyone with the link gets in)")
    parser.add_argument("--run-seconds", type=float, default=0, help="stop after this long (0: run until stopped)")
    args = parser.parse_args(argv)

    # 1. secrets: never printed
    # one name for the team password everywhere (the app reads it too); the launcher's old name still works
    password = read_secret("STUDIO_PASSWORD")
    if not password and (password := read_secret("APP_PASSWORD")):
        say("APP_PASSWORD is the old name of the team password; call it STUDIO_PASSWORD (the old name still works)")
    token = read_secret("HF_TOKEN")
    server_key = read_secret("STUDIO_OPENAI_API_KEY")  # for a text server behind an API key; never printed
    if not password and not args.allow_no_password:
        say("refusing to share the app without a password: add STUDIO_PASSWORD to Colab secrets or the environment, "
            "or pass --allow-no-password")
        return 2
    if not args.no_install:  # first: the password's check reads zxcvbn's lists, installed with the rest
        install()
    if password and (problem := password_problem(password)):
        say(f"refusing to share the app: {problem.text('en')} (STUDIO_PASSWORD)")
        return 2
    if not port_is_free(args.port):
        port = any_free_port()
        say(f"port {args.port} is taken by another program; using {port} instead")
        args.port = port
    # the tunnel the app sits behind, so its gate reads the caller's address where that tunnel puts it
    tunnel_name = "custom" if args.tunnel_command else args.tunnel
    env = {**os.environ, "STUDIO_PUBLIC": "1", "STUDIO_TUNNEL": tunnel_name}
    if password:
        env["STUDIO_PASSWORD"] = password
    else:
        env["STUDIO_ALLOW_NO_PASSWORD"] = "1"
    if token:
        env["HF_TOKEN"] = token
    if server_key:
        env["STUDIO_OPENAI_API_KEY"] = server_key
    say(f"password: {'set' if password else 'NONE'}; HF_TOKEN: {'set' if token else 'not set'}")
    # 2. the app, then the tunnel; both watched and restarted
    app = start_app(args.port, env)
    tunnel = Tunnel(args.tunnel_command or TUNNELS[args.tunnel], args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = time.time()
    restarts = 0
    try:
        tunnel.start()
        reported = None
        while not stop.is_set():
            if args.run_seconds and time.time() - started > args.run_seconds:
                break
            if app.poll() is not None:
                say(f"app exited with code {app.returncode}; restarting it")
                app = start_app(args.port, env)
            if not tunnel.alive():
                restarts += 1
                say(f"tunnel died; restarting it (restart {restarts})")
                time.sleep(min(2 * restarts, 30))
                tunnel.start()
                reported = None
            if tunnel.found.is_set() and tunnel.url != reported:
                reported = tunnel.url
                say(f"share this URL with your team: {tunnel.url}")
            stop.wait(0.5)
    finally:
        tunnel.stop()
        app.terminate()
        app.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
