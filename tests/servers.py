"""Real servers on free local ports: `streamlit run` of the studio for the browser and hostile-client tests,
`transformers serve` for the text-server tests, the classic Jupyter notebook for the notebook face's browser test."""
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], log: Path, **popen) -> subprocess.Popen:
    """A server process whose output (its kernels' too) goes to a log file: a pipe nobody reads fills after 64 KB
    of log lines and then blocks the server mid-request."""
    with open(log, "wb") as handle:
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, **popen)


def wait_until_up(process: subprocess.Popen, answers, seconds: float, name: str, log: Path) -> None:
    """Poll answers() until it is true; a server that never answers is killed and its log's end raised."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if answers():
                return
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"{name} did not start: " + log.read_text(errors="replace")[-2000:])


@contextmanager
def studio_server(tmp_path, model_cache, **env):
    """Yields the server's URL; extra env (STUDIO_PASSWORD, STUDIO_PUBLIC, ...) is passed to it."""
    port = free_port()
    environment = {**os.environ, "STUDIO_PROFILE": "tiny", "STUDIO_MODEL_CACHE": str(model_cache),
                   "STUDIO_DATA_DIR": str(tmp_path / "data"), **env}
    log = tmp_path / f"streamlit-{port}.log"
    process = start([sys.executable, "-m", "streamlit", "run", "streamlit_app/serve.py", "--server.port", str(port),
                     "--server.address", "127.0.0.1"], log, cwd=ROOT, env=environment)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(process, lambda: urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok", 60,
                  "streamlit", log)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def text_server(model_folder, cache_folder):
    """`transformers serve` (the OpenAI-compatible server inside transformers) on CPU, pinned to a local model
    folder; yields (base URL, process)."""
    port = free_port()
    log = Path(cache_folder).parent / f"transformers-serve-{port}.log"
    process = start(["transformers", "serve", str(model_folder), "--port", str(port), "--host", "127.0.0.1",
                     "--device", "cpu"], log, cwd=ROOT, env={**os.environ, "HF_HUB_CACHE": str(cache_folder)},
                    start_new_session=True)

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError("transformers serve exited: " + log.read_text(errors="replace")[-2000:])
        return b"ok" in urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
    wait_until_up(process, answers, 120, "transformers serve", log)
    try:
        yield f"http://127.0.0.1:{port}/v1", process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
        process.wait(timeout=20)



@contextmanager
def resetting_proxy(target_url: str, resets: int):
    """A TCP proxy on a free local port in front of target_url's host and port, as a tunnel or a proxy that drops
    connections: the first `resets` connections are read and then reset (RST, as a peer that closed a kept-alive
    connection does), every later one is forwarded both ways. Yields (target_url with the proxy's port, the list of
connections accepted so far, one entry each: "reset" or "forwarded")."""
    host, port = target_url.split("//")[1].split("/")[0].split(":")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop, accepted = threading.Event(), []

    def pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve():
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            if len(accepted) < resets:
                accepted.append("reset")
                client.settimeout(5)
                client.recv(65536)
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            accepted.append("forwarded")
            upstream = socket.create_connection((host, int(port)))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(source, sink), daemon=True).start()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield target_url.replace(f":{port}", f":{listener.getsockname()[1]}", 1), accepted
    finally:
        stop.set()
        thread.join()
        listener.close()


@contextmanager
def notebook_server(tmp_path, model_cache):
    """The classic Jupyter notebook (nbclassic, which draws ipywidgets 7 as Colab does) serving tmp_path, its
    kernels running the tiny profile; yields (base URL, token)."""
    port, token = free_port(), "studio-test-token"
    environment = {**os.environ, "STUDIO_PROFILE": "tiny", "STUDIO_MODEL_CACHE": str(model_cache),
                   "STUDIO_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT),
                   "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
                   "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime")}
    log = tmp_path / f"notebook-{port}.log"
    process = start([sys.executable, "-m", "jupyter", "nbclassic", "--no-browser", "--allow-root",
                     "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", f"--ServerApp.token={token}",
                     f"--ServerApp.root_dir={tmp_path}"], log, cwd=tmp_path, env=environment)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(process, lambda: urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).status == 200,
                  90, "the notebook server", log)
    try:
        yield url, token, log
    finally:
        process.terminate()
        process.wait(timeout=30)
