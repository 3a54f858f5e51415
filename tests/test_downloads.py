"""The first start's downloads, reported as the bytes land: a local model folder copied into a cache folder stands
in for the hub (no hub access here), through the same watch and the same words the faces show."""
import shutil
import threading
import time

import pytest

from core import downloads
from core.downloads import PIPELINE_FILES, TEXT_FILES, DownloadStatus, FolderWatch, fetch, folder_bytes, wanted
from core.errors import ModelLoadError
from core.labels import duration, phase_text
from core.studio.progress import Progress
from core.studio.worker import Job


def slow_copy(source, target, chunk=256 * 1024, pause=0.002):
    """Copy a folder file by file in chunks, the way a download fills the cache."""
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "rb") as read, open(out, "wb") as write:
            while block := read.read(chunk):
                write.write(block)
                write.flush()
                time.sleep(pause)


def test_a_model_copied_into_the_cache_is_reported_as_it_arrives(tiny_images, model_cache, tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "POLL_S", 0.05)
    source = model_cache / "tiny-sdxl"  # built by tiny_images
    total = folder_bytes(source)
    assert total > 10_000_000  # the tiny SDXL's weights: enough bytes to watch arrive
    seen: list[DownloadStatus] = []
    target = tmp_path / "models--stabilityai--stable-diffusion-xl-base-1.0"
    with FolderWatch(target, total, "stabilityai/stable-diffusion-xl-base-1.0", seen.append):
        slow_copy(source, target)
    assert seen[0].done == 0 and seen[-1].done == total == seen[-1].total and seen[-1].fraction == 1.0
    assert [s.done for s in seen] == sorted(s.done for s in seen)  # never goes back
    midway = [s for s in seen if 0 < s.done < total]
    assert len(midway) >= 3 and all(s.speed > 0 and s.eta_s is not None for s in midway[1:])
    progress = Progress()
    progress.show_download(midway[len(midway) // 2])
    words = phase_text(progress, 0, "pt-BR")
    assert words.startswith("Baixando stabilityai/stable-diffusion-xl-base-1.0: 0.0 de 0.0 GB")
    assert f"Fica guardado em {target}" in words and 0 < progress.progress < 1


def test_the_words_of_a_download_in_each_language():
    progress = Progress()
    progress.show_download(DownloadStatus("meta-llama/Meta-Llama-3-8B-Instruct", 4_200_000_000, 16_100_000_000,
                                          85_000_000, "/content/drive/MyDrive/hf-cache"))
    assert phase_text(progress, 0, "pt-BR") == (
        "Baixando meta-llama/Meta-Llama-3-8B-Instruct: 4.2 de 16.1 GB, 85 MB/s, falta 2 min 20 s. Fica guardado em "
        "/content/drive/MyDrive/hf-cache para as próximas partidas.")
    assert "Downloading meta-llama/Meta-Llama-3-8B-Instruct: 4.2 of 16.1 GB, 85 MB/s, 2 min 20 s left" in \
        phase_text(progress, 0, "en")
    assert "faltan 2 min 20 s" in phase_text(progress, 0, "es")
    assert phase_text(progress, 2, "pt-BR").startswith("Na fila")  # queued behind others: the queue comes first
    assert (duration(None), duration(42.4), duration(3725)) == ("…", "42 s", "1 h 02 min")


def test_only_the_files_the_loaders_read_are_fetched():
    assert wanted("model-00001-of-00004.safetensors", TEXT_FILES) and wanted("tokenizer.json", TEXT_FILES)
    assert not wanted("original/consolidated.00.pth", TEXT_FILES)  # Llama 3's 16 GB original copy
    assert wanted("unet/diffusion_pytorch_model.fp16.safetensors", PIPELINE_FILES)
    assert not wanted("unet/diffusion_pytorch_model.safetensors", PIPELINE_FILES)  # the fp32 copy: 10 GB more
    assert not wanted("unet/model.onnx", PIPELINE_FILES) and wanted("model_index.json", PIPELINE_FILES)


def test_a_local_folder_is_used_as_it_is_and_an_unreachable_hub_is_a_clear_error(tiny_images, model_cache):
    reports = []
    fetch(str(model_cache / "tiny-sdxl" / "base"), PIPELINE_FILES, None, reports.append)  # no hub call at all
    assert reports == []
    with pytest.raises(ModelLoadError) as refused:  # this machine cannot reach the hub: said, naming the model
        fetch("meta-llama/Meta-Llama-3-8B-Instruct", TEXT_FILES, None, reports.append)
    assert "não foi possível carregar o modelo meta-llama/Meta-Llama-3-8B-Instruct" in refused.value.text("pt-BR")


def test_time_spent_downloading_does_not_count_against_a_jobs_limit():
    job = Job(fn=lambda job: None, label="write", owner="ana")
    job.deadline = time.monotonic() + 10
    start = job.deadline
    status = DownloadStatus("m", 1, 10, 1.0, "/cache")
    job.show_download(status)
    time.sleep(0.3)
    job.show_download(status)
    assert job.deadline - start >= 0.3 and job.phase == "downloading"


def test_a_copy_racing_the_watch_never_breaks_it(tiny_images, tmp_path, model_cache):
    """Files appearing and vanishing (partial files renamed) while the folder is summed."""
    target = tmp_path / "cache"
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            shutil.copytree(model_cache / "tiny-sdxl" / "base" / "scheduler", target / "x", dirs_exist_ok=True)
            shutil.rmtree(target / "x", ignore_errors=True)
    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for _ in range(200):
            assert folder_bytes(target) >= 0
    finally:
        stop.set()
        thread.join()
