"""The process's one Studio, wrapped in st.cache_resource as the design asks; pages never mutate it.

Clearing Streamlit's caches (any session can ask for that) only makes this call core again, which hands back the
same Studio: the same worker, store and loaded models."""
from __future__ import annotations

import streamlit as st

from core.studio.root import Studio, get_studio


@st.cache_resource(show_spinner=False)
def studio() -> Studio:
    return get_studio()
