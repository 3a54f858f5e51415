"""Real servers on free local ports: `streamlit run` of the studio for the browser and hostile-client tests,
`transformers serve` for the text-server tests, a classic Jupyter notebook server for the notebook face."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def studio_server(tmp_path, model_cache, **env):
    """Yields the server's URL; extra env (STUDIO_PASSWORD, STUDIO_PUBLIC, ...) is passed to it."""
    port = free_port()
    environment = {**os.environ, "STUDIO_PROFILE": "tiny", "STUDIO_MODEL_CACHE": str(model_cache),
                   "STUDIO_DATA_DIR": str(tmp_path / "data"), **env}
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app/serve.py",
                                "--server.port", str(port), "--server.address", "127.0.0.1"],
                               cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        raise RuntimeError("streamlit did not start: " + process.stdout.read().decode()[-2000:])
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
    process = subprocess.Popen(["transformers", "serve", str(model_folder), "--port", str(port), "--host",
                                "127.0.0.1", "--device", "cpu"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_CACHE": str(cache_folder)},
                               start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if b"ok" in urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read():
                break
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.5)
    else:
        process.kill()
        raise RuntimeError("transformers serve did not start")
    if process.poll() is not None:
        raise RuntimeError("transformers serve exited: " + process.stdout.read().decode()[-2000:])
    try:
        yield f"http://127.0.0.1:{port}/v1", process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
        process.wait(timeout=20)


@contextmanager
def notebook_server(tmp_path, model_cache):
    """The classic Jupyter notebook (nbclassic, which renders ipywidgets 7 as Colab does) serving tmp_path, its
    kernels running the tiny profile; yields (base URL, token)."""
    port, token = free_port(), "studio-test-token"
    environment = {**os.environ, "STUDIO_PROFILE": "tiny", "STUDIO_MODEL_CACHE": str(model_cache),
                   "STUDIO_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT),
                   "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
                   "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime")}
    process = subprocess.Popen([sys.executable, "-m", "jupyter", "nbclassic", "--no-browser", "--allow-root",
                                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                                f"--ServerApp.token={token}", f"--ServerApp.root_dir={tmp_path}"],
                               cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        raise RuntimeError("the notebook server did not start: " + process.stdout.read().decode()[-2000:])
    try:
        yield url, token
    finally:
        process.terminate()
        process.wait(timeout=30)
