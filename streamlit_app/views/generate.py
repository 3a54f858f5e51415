"""Generate page: brief → streamed copy → editable English visual prompt → rendered image."""
import streamlit as st

from core.content.brief import FIELD_LIMITS, Brief, ContentType, Language, parse_keywords
from core.content.clip_tokens import CLIP_WINDOW, count_clip_tokens
from core.errors import CoreError
from core.content.visual_prompt import MAX_PROMPT_CHARS
from core.image.settings import SDXL_SIZES, SEED_MAX, ImageSettings
from core.studio.jobs import RenderResult, WriteResult
from streamlit_app import resources, ui
from streamlit_app.strings import t

ss = st.session_state
lang = ui.lang()
studio = resources.studio()
store = studio.store
SIZES = [f"{w}x{h}" for w, h in SDXL_SIZES]


def brief_from_form() -> Brief:
    return Brief(product=ss["f_product"], content_type=ss["f_type"], language=ss["f_language"],
                 audience=ss["f_audience"], tone=ss["f_tone"], keywords=parse_keywords(ss["f_keywords"]),
                 call_to_action=ss["f_cta"], brand_notes=ss["f_notes"])


def on_write() -> None:
    try:
        brief = brief_from_form()
    except CoreError as error:
        ss["error"] = error
        return
    author = ss["reviewer"]
    ui.submit("write", lambda owner: studio.write(brief, author, owner))


def slider(column, name: str, key: str) -> None:
    """A slider for a numeric image setting, its range, step and default read from the setting's field."""
    bound, kind = ImageSettings.bound(name), type(ImageSettings.default(name))
    column.slider(t(lang, name), kind(bound.low), kind(bound.high), value=ImageSettings.default(name),
                  step=kind(bound.step), key=key)


def settings_from_form(seed: int | None) -> ImageSettings:
    width, height = (int(v) for v in ss["i_size"].split("x"))
    return ImageSettings(width=width, height=height, steps=ss["i_steps"], guidance=float(ss["i_guidance"]),
                         seed=seed, use_refiner=ss["i_refiner"], candidates=ss["i_candidates"])


def on_render(seed_choice: str) -> None:
    if seed_choice == "same":
        seed = ss.get("last_seed")
    elif seed_choice == "form" and ss["i_seed_mode"] == "fixed":
        seed = int(ss["i_seed"])
    else:
        seed = None
    try:
        settings = settings_from_form(seed)
    except CoreError as error:
        ss["error"] = error
        return
    author, draft_id, prompt, negative = ss["reviewer"], ss["draft_id"], ss["prompt_edit"], ss["negative_edit"]
    ui.submit("render", lambda owner: studio.render(draft_id, prompt, negative, settings, author, owner))


# -- results -------------------------------------------------------------------------------------------
def apply_write(result: WriteResult) -> None:
    ss.pop("incomplete_copy", None)
    ss.update({"brief": store.get(result.draft_id).brief.to_dict(), "copy_edit": result.copy.text,
               "copy_saved_text": result.copy.text, "repair": result.copy.repair,
               "prompt_edit": result.visual.prompt, "negative_edit": result.visual.negative_prompt,
               "visual_notes": result.visual.notes, "visual_source": result.visual.source,
               "draft_id": result.draft_id, "images": [], "notice": t(lang, "draft_saved", id=result.draft_id)})


def apply_render(result: RenderResult) -> None:
    ss["images"] = result.image_files
    ss["last_seed"] = result.image_files[0][1]


def save_copy() -> None:
    try:
        store.add_copy_version(ss["draft_id"], ss["copy_edit"], ss["reviewer"])
    except CoreError as error:
        ss["error"] = error
        return
    ss["copy_saved_text"] = ss["copy_edit"]
    ss["notice"] = t(lang, "copy_saved")


# -- page ------------------------------------------------------------------------------------------------
st.title(t(lang, "app_title"))
ui.show_error()
if notice := ss.pop("notice", None):
    st.success(notice)
busy = ui.busy()

with st.form("brief_form"):
    st.subheader(t(lang, "brief"))
    st.text_input(t(lang, "product"), key="f_product", max_chars=FIELD_LIMITS["product"])
    left, right = st.columns(2)
    left.selectbox(t(lang, "content_type"), [c.value for c in ContentType], key="f_type",
                   format_func=lambda v: t(lang, f"type_{v}"))
    right.selectbox(t(lang, "language"), [lg.value for lg in Language], key="f_language")
    left.text_input(t(lang, "audience"), key="f_audience", max_chars=FIELD_LIMITS["audience"])
    right.text_input(t(lang, "tone"), key="f_tone", max_chars=FIELD_LIMITS["tone"])
    left.text_input(t(lang, "keywords"), key="f_keywords")
    right.text_input(t(lang, "cta"), key="f_cta", max_chars=FIELD_LIMITS["call_to_action"])
    st.text_area(t(lang, "brand_notes"), key="f_notes", max_chars=FIELD_LIMITS["brand_notes"], height=80)
    st.form_submit_button(t(lang, "write"), type="primary", disabled=busy, on_click=on_write)

ui.watch({"write": apply_write})
if incomplete := ss.get("incomplete_copy"):
    st.text_area(t(lang, "incomplete_copy"), incomplete, height=150, disabled=True)

if ss.get("brief"):
    brief = Brief.from_dict(ss["brief"])
    st.subheader(t(lang, "copy"))
    st.text_area(t(lang, "copy"), key="copy_edit", height=260, help=t(lang, "copy_edit_help"),
                 label_visibility="collapsed", max_chars=10_000)
    ui.rule_badges(brief, ss["copy_edit"])
    if ss.get("repair", "none") != "none":
        st.caption(t(lang, "repair_note", repair=ss["repair"]))
    save_col, download_col = st.columns(2)
    save_col.button(t(lang, "save_copy"), disabled=busy or ss["copy_edit"] == ss.get("copy_saved_text"),
                    on_click=save_copy)
    download_col.download_button(t(lang, "download_copy"), ss["copy_edit"].encode("utf-8"),
                                 file_name=f"{ss['draft_id']}.md", mime="text/markdown")

    st.subheader(t(lang, "visual"))
    st.text_area(t(lang, "prompt"), key="prompt_edit", height=100, max_chars=MAX_PROMPT_CHARS)
    st.caption(t(lang, "tokens", n=count_clip_tokens(ss["prompt_edit"])))
    st.text_area(t(lang, "negative"), key="negative_edit", height=70, max_chars=MAX_PROMPT_CHARS)
    st.caption(t(lang, "tokens", n=count_clip_tokens(ss["negative_edit"])))
    for name in ("prompt_edit", "negative_edit"):
        if count_clip_tokens(ss[name]) > CLIP_WINDOW:
            st.warning(f"{t(lang, 'prompt' if name == 'prompt_edit' else 'negative')}: "
                       f"> {CLIP_WINDOW} CLIP tokens — SDXL ignores the rest.")
    if ss.get("visual_source") == "fallback":
        st.caption(t(lang, "source_fallback"))
    for note in ss.get("visual_notes", []):
        st.caption(f"ℹ️ {note}")

    with st.expander(t(lang, "image_settings")):
        a, b = st.columns(2)
        a.selectbox(t(lang, "size"), SIZES, key="i_size")
        b.radio(t(lang, "seed_mode"), ["random", "fixed"], key="i_seed_mode", horizontal=True,
                format_func=lambda v: t(lang, f"seed_{v}"))
        b.number_input(t(lang, "seed"), min_value=0, max_value=SEED_MAX, value=42, step=1, key="i_seed")
        slider(a, "steps", "i_steps")
        slider(a, "guidance", "i_guidance")
        b.checkbox(t(lang, "refiner"), value=ImageSettings.default("use_refiner"), key="i_refiner")
        slider(b, "candidates", "i_candidates")
    render_col, same_col, new_col = st.columns(3)
    render_col.button(t(lang, "render"), type="primary", disabled=busy, on_click=on_render, args=("form",))
    if ss.get("images"):
        same_col.button(t(lang, "rerender_same"), disabled=busy, on_click=on_render, args=("same",))
        new_col.button(t(lang, "rerender_new"), disabled=busy, on_click=on_render, args=("new",))

    ui.watch({"render": apply_render})

    images = ss.get("images", [])
    if images:
        columns = st.columns(len(images))
        for column, (file_name, seed) in zip(columns, images):
            path = store.image_path(file_name)
            with column:
                st.image(str(path), caption=t(lang, "seed_used", seed=seed))
                st.download_button(t(lang, "download_png"), path.read_bytes(), file_name=file_name,
                                   mime="image/png", key=f"dl_{file_name}")
else:
    st.info(t(lang, "write_first"))
