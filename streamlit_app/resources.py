"""Heavy objects, built by plain core factories and cached once per process; never mutated by pages."""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from core import devices
from core.studio.history import HistoryStore
from core.image.sdxl import ImageModel
from core.profiles import Profile, load_images, load_text, resolve_profile
from core.text.local import TextModel
from core.studio.worker import GPUWorker

DATA_DIR_ENV = "STUDIO_DATA_DIR"


@st.cache_resource(show_spinner=False)
def profile() -> Profile:
    return resolve_profile()


@st.cache_resource(show_spinner=False)
def _loaded() -> dict[str, str]:
    """What this process has loaded, by role; cleared with the other caches."""
    return {}


@st.cache_resource(show_spinner=False)
def text_model(profile_name: str) -> TextModel:
    model = load_text(profile())
    _loaded()["text"] = model.name
    return model


@st.cache_resource(show_spinner=False)
def image_model(profile_name: str) -> ImageModel:
    model = load_images(profile())
    _loaded()["image"] = f"SDXL ({model.policy.value if model.device.startswith('cuda') else model.device})"
    return model


@st.cache_resource(show_spinner=False)
def worker() -> GPUWorker:
    """The one worker that runs every model job of every session, one at a time."""
    return GPUWorker()


@st.cache_resource(show_spinner=False)
def preload() -> bool:
    """With the full profile, load and warm up (compile) both models on the worker as soon as the server starts,
    so the first teammate does not pay minutes of compile time. Returns whether a warm-up was queued."""
    current = profile()
    if current.name != "full":
        return False
    worker().submit(lambda job: (text_model(current.name), image_model(current.name)), "warmup", "server")
    return True


@st.cache_resource(show_spinner=False)
def history_store(folder: str) -> HistoryStore:
    return HistoryStore(folder)


def store() -> HistoryStore:
    """The team's history store, in $STUDIO_DATA_DIR (a mounted Drive folder on Colab, say)."""
    return history_store(str(Path(os.environ.get(DATA_DIR_ENV, "studio_data")).resolve()))


def loaded_text_model() -> TextModel | None:
    """The text model if this process has loaded it, without loading it."""
    return text_model(profile().name) if "text" in _loaded() else None


def loaded_models() -> list[str]:
    """Names of the models this process has loaded so far, for the sidebar."""
    return list(_loaded().values())


def engine_facts() -> dict:
    current = profile()
    return {"profile": current.name, "device": current.device, "vram_gib": devices.vram_in_use_gib(current.device),
            "test_images": current.test_images}
