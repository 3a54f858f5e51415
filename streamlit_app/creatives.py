"""The finished-creatives section of a draft, shared by the generate and history pages: pick an image version, a
channel format and where the text goes, edit the headline and CTA, make the piece, download it as PNG or JPEG."""
import streamlit as st

from core.errors import CoreError
from core.files import file_stem
from core.image.creative import FORMATS, TEMPLATES
from core.image.editing import EditKind, edit_settings
from core.labels import t
from core.studio.creatives import CHANNEL_FORMAT, creative_file, headline_of, make_creative, source_for
from core.studio.history import HistoryStore
from streamlit_app import resources, ui


def section(store: HistoryStore, draft_id: str, lang: str, busy: bool) -> None:
    draft = store.get(draft_id)
    if not draft.image_versions:
        return
    ss = st.session_state
    st.subheader(t(lang, "creatives"))
    versions = [None, *(v.n for v in reversed(draft.image_versions))]
    key = f"cr_{draft_id}"
    if ss.get(f"{key}_for") != draft.copy.n:  # the headline follows the copy until someone edits it
        ss[f"{key}_headline"], ss[f"{key}_cta"] = headline_of(draft), draft.brief.call_to_action
        ss[f"{key}_for"] = draft.copy.n
    formats = list(FORMATS)
    with st.form(f"{key}_form", enter_to_submit=False):
        a, b, c = st.columns(3)
        a.selectbox(t(lang, "creative_image"), versions, key=f"{key}_image",
                    format_func=lambda n: t(lang, "creative_auto") if n is None else f"v{n}",
                    help=t(lang, "creative_auto_help"))
        b.selectbox(t(lang, "creative_format"), formats, key=f"{key}_format",
                    index=formats.index(CHANNEL_FORMAT[draft.brief.content_type]),
                    format_func=lambda name: t(lang, f"creative_format_{name}"))
        c.radio(t(lang, "creative_template"), TEMPLATES, key=f"{key}_template", horizontal=True,
                format_func=lambda name: t(lang, f"template_{name}"))
        st.text_input(t(lang, "headline"), key=f"{key}_headline")
        st.text_input(t(lang, "cta"), key=f"{key}_cta")
        st.checkbox(t(lang, "creative_extend"), key=f"{key}_extend", help=t(lang, "creative_extend_help"))
        st.form_submit_button(t(lang, "creative_make"), disabled=busy, on_click=_make,
                              args=(store, draft_id, key))
    ui.watch({"creative": lambda result: _finish(store, draft_id, key, result)})
    pieces = list(reversed(draft.creative_versions))
    for row in range(0, len(pieces), 3):
        for column, piece in zip(st.columns(3), pieces[row:row + 3]):
            path = store.image_path(piece.file)
            if not path.exists():
                continue
            with column:
                caption = t(lang, "creative_caption", format=t(lang, f"creative_format_{piece.format}"),
                            contrast=piece.contrast, scrim=t(lang, "with_scrim") if piece.scrim else "")
                st.image(str(path), caption=caption)
                name = f"{file_stem(draft.brief.product)}-{piece.format}-c{piece.n}"
                st.download_button(t(lang, "download_png"), path.read_bytes(), file_name=f"{name}.png",
                                   mime="image/png", key=f"crpng_{piece.file}")
                st.download_button(t(lang, "download_jpeg"), creative_file(store, piece, "JPEG"),
                                   file_name=f"{name}.jpg", mime="image/jpeg", key=f"crjpg_{piece.file}")


def _make(store: HistoryStore, draft_id: str, key: str) -> None:
    """Make the creative now, or first extend its image to the format's SDXL shape on the GPU worker (the
    creative is made from the extension when that job is done)."""
    ss = st.session_state
    try:
        draft = store.get(draft_id)
        fmt = FORMATS[ss[f"{key}_format"]]
        source = ss[f"{key}_image"] or source_for(draft, fmt.name)
        parent = draft.image_version(source)
        if ss.get(f"{key}_extend") and parent is not None and (parent.settings.width, parent.settings.height) \
                != fmt.sdxl:
            prompt = draft.prompt_version(parent.prompt_version)
            settings = edit_settings(parent.settings)
            author = ss["reviewer"]
            ui.submit("creative", lambda owner: resources.studio().edit(
                draft_id, parent.n, EditKind.EXTEND.value, prompt.prompt, prompt.negative_prompt, settings, author,
                owner, target=fmt.sdxl))
            return
        make_creative(store, draft_id, source, fmt.name, ss[f"{key}_headline"], ss[f"{key}_cta"], ss["reviewer"],
                      ss[f"{key}_template"])
    except CoreError as error:
        ss["error"] = error


def _finish(store: HistoryStore, draft_id: str, key: str, result) -> None:
    """The extension is saved: make the creative from it, with the form's text as it was sent."""
    ss = st.session_state
    [(file_name, _)] = result.image_files
    version = next(v for v in store.get(draft_id).image_versions if v.file == file_name)
    try:
        make_creative(store, draft_id, version.n, ss[f"{key}_format"], ss[f"{key}_headline"], ss[f"{key}_cta"],
                      ss["reviewer"], ss[f"{key}_template"])
    except CoreError as error:
        ss["error"] = error
