"""The studio's pages: the sign-in, then generate and history. Served by `streamlit run streamlit_app/serve.py`."""
import sys
from pathlib import Path

# `streamlit run` puts this folder on the path, not the project root where core lives.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st  # noqa: E402

from core.errors import CoreError  # noqa: E402
from core.studio.history import check_author  # noqa: E402
from streamlit_app import gate, resources, ui  # noqa: E402
from core.labels import UI_LANGUAGES, phase_text, t  # noqa: E402

VIEWS = Path(__file__).resolve().parent / "views"


def main() -> None:
    ss = st.session_state
    ss.setdefault("ui_language", "pt-BR")
    lang = ss["ui_language"]
    st.set_page_config(page_title=t(lang, "app_title"), page_icon="✨", layout="wide")
    with st.sidebar:
        st.selectbox(t(lang, "ui_language"), list(UI_LANGUAGES), format_func=UI_LANGUAGES.get, key="ui_language")
    gate.clear_cookie_if_asked()
    gate.require_access(lang)
    if not ss.get("reviewer"):
        ask_reviewer(lang)
        st.stop()
    gate.remember_browser()
    resources.studio().preload()
    sidebar(lang)
    pages = [st.Page(VIEWS / "generate.py", title=t(lang, "nav_generate"), icon=":material/edit_note:", url_path="generate",
                     default=True),
             st.Page(VIEWS / "history.py", title=t(lang, "nav_history"), icon=":material/history:", url_path="history"),
             st.Page(VIEWS / "kits.py", title=t(lang, "nav_kits"), icon=":material/palette:", url_path="kits"),
             st.Page(VIEWS / "batch.py", title=t(lang, "nav_batch"), icon=":material/table_view:", url_path="batch")]
    st.navigation(pages).run()


def ask_reviewer(lang: str) -> None:
    """Ask the reviewer's name once per browser session; it signs drafts, versions and comments."""
    st.title(t(lang, "app_title"))
    with st.form("reviewer_form"):
        st.write(t(lang, "reviewer_prompt"))
        name = st.text_input(t(lang, "reviewer_label"), max_chars=60)
        if st.form_submit_button(t(lang, "reviewer_go")):
            try:
                st.session_state["reviewer"] = check_author(name)
            except CoreError as error:
                st.error(error.text(lang))
                return
            st.rerun()


def sidebar(lang: str) -> None:
    studio = resources.studio()
    facts = studio.facts()
    with st.sidebar:
        st.caption(f"{t(lang, 'reviewer_is')}: **{ui.md_escape(st.session_state['reviewer'])}**")
        st.button(t(lang, "logout"), on_click=gate.sign_out, icon=":material/logout:")
        st.subheader(t(lang, "sidebar_engine"))
        st.text(f"{t(lang, 'profile')}: {facts['profile']}\n{t(lang, 'device')}: {facts['device']}")
        if facts["text_engine"] != "local":
            st.text(f"{t(lang, 'text_server')}: {facts['text_engine']}")
        if facts["vram_gib"] is not None:
            st.text(f"{t(lang, 'vram')}: {facts['vram_gib']:.1f} GiB")
        models_panel(lang)
        if facts["demo_text"]:
            st.warning(t(lang, "demo_text_warning", model=facts["text_model"]))
        if facts["test_images"]:
            st.warning(t(lang, "test_images_warning"))
    recovery = studio.store.recovery
    if recovery:
        if recovery.damaged_file is None:
            st.warning(t(lang, "recovered_vanished", replayed=recovery.replayed, file=recovery.shard_file.name))
        else:
            st.warning(t(lang, "recovered", replayed=recovery.replayed, file=recovery.damaged_file.name))
    if studio.store.read_only:
        st.error(t(lang, "read_only", **studio.store.read_only.params))


def models_panel(lang: str) -> None:
    """The models loaded; while the server's first start fetches and loads them (the full profile), how far it
    has come, redrawn on its own."""
    warmup = resources.studio().preload()
    if warmup is not None and not warmup.done:
        warming_panel(lang)
    else:
        loaded_models(lang)
        if resources.studio().facts()["accelerating"]:
            accelerating_panel(lang)


@st.fragment(run_every=2)
def warming_panel(lang: str) -> None:
    """Each model's download (bytes, speed, time left), then its loading; the whole page redraws once done."""
    warmup = resources.studio().preload()
    if warmup.done:
        st.rerun()
    if warmup.phase:
        st.caption(phase_text(warmup, 0, lang))
        st.progress(min(max(warmup.progress, 0.0), 1.0))
    loaded_models(lang)


@st.fragment(run_every=5)
def accelerating_panel(lang: str) -> None:
    """What the server compiles in the background while it already serves; gone once it is all in."""
    stage = resources.studio().facts()["accelerating"]
    if stage:
        st.caption(t(lang, stage))


def loaded_models(lang: str) -> None:
    loaded = resources.studio().loaded_models()
    st.text(f"{t(lang, 'models_loaded')}: " + (", ".join(loaded) if loaded else t(lang, "none_loaded")))


main()
