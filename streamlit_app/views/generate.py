"""Generate page: brief → streamed copy → editable English visual prompt → rendered image."""
import streamlit as st

from core.content.brief import ANGLES, FIELD_LIMITS, Brief, ContentType, Language, parse_keywords
from core.content.clip_tokens import count_clip_tokens
from core.content.visual_prompt import MAX_PROMPT_CHARS, window_warnings
from core.errors import CoreError
from core.files import file_stem
from core.image.settings import QUALITIES, SDXL_SIZES, SEED_MAX, ImageSettings
from core.studio.jobs import RenderResult, WriteResult
from core.studio.variants import MAX_ANGLES, check_variants, variant_set
from streamlit_app import creatives, resources, ui
from core.labels import UI_LANGUAGES, t

ss = st.session_state
lang = ui.lang()
studio = resources.studio()
store = studio.store
SIZES = [f"{w}x{h}" for w, h in SDXL_SIZES]
# the brief form's text fields: session key, label key, the brief's field (its limit), multi-line
TEXT_FIELDS = (("f_product", "product", "product", False), ("f_audience", "audience", "audience", False),
               ("f_tone", "tone", "tone", False), ("f_keywords", "keywords", None, False),
               ("f_cta", "cta", "call_to_action", False), ("f_link", "link", "link", False),
               ("f_facts", "key_facts", "key_facts", True), ("f_notes", "brand_notes", "brand_notes", True))


def brief_from_form() -> Brief:
    brief = Brief(product=ss["f_product"], content_type=ss["f_type"], language=ss["f_language"],
                  audience=ss["f_audience"], tone=ss["f_tone"], keywords=parse_keywords(ss["f_keywords"]),
                  call_to_action=ss["f_cta"], brand_notes=ss["f_notes"], key_facts=ss["f_facts"], link=ss["f_link"])
    return brief.under_kit(store.kits.get(ss["f_kit"]) if ss.get("f_kit") else None)


def on_write() -> None:
    try:
        brief = brief_from_form()
    except CoreError as error:
        ss["error"] = error
        return
    author = ss["reviewer"]
    ui.submit("write", lambda owner: studio.write(brief, author, owner))


def on_variants() -> None:
    try:
        brief = brief_from_form()
        settings = settings_from_form(None) if "i_size" in ss else ImageSettings()  # the image form comes later
    except CoreError as error:
        ss["error"] = error
        return
    author, angles, count = ss["reviewer"], list(ss["v_angles"]), int(ss["v_images"])
    try:
        check_variants(angles, count)  # refused before a job is queued, named in the page's language
    except CoreError as error:
        ss["error"] = error
        return
    ui.submit("variants", lambda owner: studio.variants(brief, angles, count, settings, author, owner))


def apply_variants(result) -> None:
    ss["variant_set"] = result.set_id


def variant_grid(set_id: str) -> None:
    """The set's drafts side by side: angle, copy, images with a favourite each, and a button to open one."""
    drafts = variant_set(store, set_id)
    st.subheader(t(lang, "variants"))
    for column, draft in zip(st.columns(len(drafts) or 1), drafts):
        with column:
            st.markdown(f"**{t(lang, 'angle_' + draft.brief.angle)}**")
            st.text(draft.copy.text[:600])
            for image in draft.image_versions:
                path = store.image_path(image.file)
                if path.exists():
                    st.image(str(path), caption=t(lang, "seed_used", seed=image.seed))
                if image.n == draft.favorite:
                    st.caption(t(lang, "favorite"))
                else:
                    st.button(t(lang, "mark_favorite"), key=f"v_fav_{draft.id}_{image.n}",
                              on_click=lambda d=draft.id, n=image.n: store.set_favorite(d, n, ss["reviewer"]))
            st.button(t(lang, "open_variant"), key=f"v_open_{draft.id}", on_click=open_draft, args=(draft.id,))


def slider(column, name: str, key: str, disabled: bool = False) -> None:
    """A slider for a numeric image setting, its range, step and default read from the setting's field."""
    bound, kind = ImageSettings.bound(name), type(ImageSettings.default(name))
    column.slider(t(lang, name), kind(bound.low), kind(bound.high), value=ImageSettings.default(name),
                  step=kind(bound.step), key=key, disabled=disabled)


def settings_from_form(seed: int | None) -> ImageSettings:
    width, height = (int(v) for v in ss["i_size"].split("x"))
    settings = ImageSettings(width=width, height=height, steps=ss["i_steps"], guidance=float(ss["i_guidance"]),
                             seed=seed, use_refiner=ss["i_refiner"], candidates=ss["i_candidates"])
    return settings.fast() if ss.get("i_quality") == "fast" else settings


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
def open_draft(draft_id: str) -> None:
    """Put a saved draft on the page (its newest copy, prompt and images), and its id in the address."""
    draft = store.get(draft_id)
    ss.update({"brief": draft.brief.to_dict(), "copy_edit": draft.copy.text, "copy_saved_text": draft.copy.text,
               "prompt_edit": draft.prompt.prompt, "negative_edit": draft.prompt.negative_prompt,
               "copy_base": draft.copy.n,
               "draft_id": draft.id, "images": [(v.file, v.seed) for v in reversed(draft.image_versions)],
               "repair_notes": [], "visual_notes": [], "visual_source": "model"})
    st.query_params["draft"] = draft.id


def apply_write(result: WriteResult) -> None:
    ss.pop("incomplete_copy", None)
    open_draft(result.draft_id)
    ss.update({"repair_notes": result.copy.repair_notes(), "visual_notes": result.visual.notes,
               "visual_source": result.visual.source,
               "notice": t(lang, "draft_saved", product=ss["brief"]["product"])})


def apply_render(result: RenderResult) -> None:
    # every image of the session stays on the page, newest first; the seed box shows the seed just used
    ss["images"] = [*reversed(result.image_files), *ss.get("images", [])]
    ss["last_seed"] = result.image_files[0][1]
    ss["pending_seed"] = ss["last_seed"]


def save_copy() -> None:
    try:  # against the version the edit started from: a teammate's newer one is never buried unseen
        ss["copy_base"] = store.add_copy_version(ss["draft_id"], ss["copy_edit"], ss["reviewer"],
                                                 base=ss.get("copy_base"))
    except CoreError as error:
        ss["error"] = error
        return
    ss["copy_saved_text"] = ss["copy_edit"]
    ss["notice"] = t(lang, "copy_saved")


# Streamlit forgets a widget's value when its page is left; these keep the draft's text, prompt and negative prompt
# (edited or not) across a visit to another page, so the page never comes back with them empty
EDITS = ("copy_edit", "prompt_edit", "negative_edit")


def restore_edits() -> None:
    for key in EDITS:
        if key not in ss and f"kept_{key}" in ss:
            ss[key] = ss[f"kept_{key}"]


def keep_edits() -> None:
    for key in EDITS:
        if key in ss:
            ss[f"kept_{key}"] = ss[key]


# -- page ------------------------------------------------------------------------------------------------
st.title(t(lang, "app_title"))
if "pending_seed" in ss:  # set before the seed box exists: a widget's value cannot change after it is drawn
    ss["i_seed"], ss["i_seed_mode"] = ss.pop("pending_seed"), "fixed"
if not ss.get("brief") and (wanted := st.query_params.get("draft")):  # reopened from the history, or reloaded
    try:
        open_draft(wanted)
    except CoreError as error:
        ss["error"] = error
        del st.query_params["draft"]
if ui.reattach(("write", "render")):
    st.info(t(lang, "reattached"))
ui.show_error()
if notice := ss.pop("notice", None):
    st.success(notice)
busy = ui.busy()

with st.form("brief_form", enter_to_submit=False):
    st.subheader(t(lang, "brief"))
    fields = {key: (label, name, multiline) for key, label, name, multiline in TEXT_FIELDS}

    def text_field(container, key: str) -> None:
        label, name, multiline = fields[key]
        limit = FIELD_LIMITS.get(name or "keyword")
        # no max_chars: the browser would cut a paste silently; the brief refuses it and names the limit instead
        if multiline:
            container.text_area(t(lang, label), key=key, height=80, help=t(lang, "limit_help", n=limit))
        else:
            container.text_input(t(lang, label), key=key, help=t(lang, "limit_help", n=limit) if name else None)

    text_field(st, "f_product")
    kits = {kit.id: kit.label for kit in store.kits.list()}
    st.selectbox(t(lang, "kit"), ["", *kits], key="f_kit", help=t(lang, "kit_help"),
                 format_func=lambda kit_id: kits.get(kit_id, t(lang, "no_kit")))
    left, right = st.columns(2)
    left.selectbox(t(lang, "content_type"), [c.value for c in ContentType], key="f_type",
                   format_func=lambda v: t(lang, f"type_{v}"))
    right.selectbox(t(lang, "language"), [lg.value for lg in Language], key="f_language",
                    format_func=UI_LANGUAGES.get)
    text_field(left, "f_audience")
    text_field(right, "f_tone")
    text_field(left, "f_keywords")
    text_field(right, "f_cta")
    text_field(st, "f_link")
    text_field(st, "f_facts")
    text_field(st, "f_notes")
    with st.expander(t(lang, "variants")):  # in the form: the brief typed above goes with the request
        st.caption(t(lang, "variants_help"))
        st.multiselect(t(lang, "variant_angles"), list(ANGLES), default=["benefit", "emotion"], key="v_angles",
                       format_func=lambda angle: t(lang, f"angle_{angle}"), max_selections=MAX_ANGLES)
        st.slider(t(lang, "variant_images"), 0, 4, 1, key="v_images")
        st.form_submit_button(t(lang, "variants_make"), disabled=busy, on_click=on_variants)
    st.form_submit_button(t(lang, "write"), type="primary", disabled=busy, on_click=on_write)

ui.watch({"write": apply_write, "variants": apply_variants})
if ss.get("variant_set"):
    variant_grid(ss["variant_set"])
if incomplete := ss.get("incomplete_copy"):
    st.text_area(t(lang, "incomplete_copy"), incomplete, height=150, disabled=True)

if ss.get("brief"):
    brief = Brief.from_dict(ss["brief"])
    restore_edits()
    st.subheader(t(lang, "copy"))
    st.text_area(t(lang, "copy"), key="copy_edit", height=260, help=t(lang, "copy_edit_help"),
                 label_visibility="collapsed")
    ui.rule_badges(brief, ss["copy_edit"])
    for note in ss.get("repair_notes", []):
        st.caption(f":material/build: {note.text(lang)}")
    save_col, download_col = st.columns(2)
    save_col.button(t(lang, "save_copy"), disabled=busy or not ss["copy_edit"].strip()
                    or ss["copy_edit"] == ss.get("copy_saved_text"), on_click=save_copy)
    download_col.download_button(t(lang, "download_copy"), ss["copy_edit"].encode("utf-8"),
                                 file_name=f"{file_stem(brief.product)}.md", mime="text/markdown")

    st.subheader(t(lang, "visual"))
    st.text_area(t(lang, "prompt"), key="prompt_edit", height=100,
                 help=t(lang, "limit_help", n=MAX_PROMPT_CHARS))
    st.caption(t(lang, "tokens", n=count_clip_tokens(ss["prompt_edit"])))
    st.text_area(t(lang, "negative"), key="negative_edit", height=70, help=t(lang, "limit_help", n=MAX_PROMPT_CHARS))
    keep_edits()
    st.caption(t(lang, "tokens", n=count_clip_tokens(ss["negative_edit"])))
    for warning in window_warnings(ss["prompt_edit"], ss["negative_edit"]):
        st.warning(warning.text(lang))
    if ss.get("visual_source") == "fallback":
        st.caption(t(lang, "source_fallback"))
    for note in ss.get("visual_notes", []):
        if note.code != "clip_window":  # worded above from the prompt as it stands now
            st.caption(f":material/info: {note.text(lang)}")

    with st.expander(t(lang, "image_settings")):
        fast = False
        if studio.fast_unavailable() is None:
            fast = st.radio(t(lang, "quality"), QUALITIES, key="i_quality", horizontal=True,
                            format_func=lambda v: t(lang, f"quality_{v}"), help=t(lang, "fast_help")) == "fast"
        a, b = st.columns(2)
        a.selectbox(t(lang, "size"), SIZES, key="i_size")
        b.radio(t(lang, "seed_mode"), ["random", "fixed"], key="i_seed_mode", horizontal=True,
                format_func=lambda v: t(lang, f"seed_{v}"))
        b.number_input(t(lang, "seed"), min_value=0, max_value=SEED_MAX, value=42, step=1, key="i_seed")
        slider(a, "steps", "i_steps", disabled=fast)  # the fast mode takes its LoRA's steps, without these
        slider(a, "guidance", "i_guidance", disabled=fast)
        b.checkbox(t(lang, "refiner"), value=ImageSettings.default("use_refiner"), key="i_refiner", disabled=fast)
        slider(b, "candidates", "i_candidates")
    render_col, same_col, new_col = st.columns(3)
    render_col.button(t(lang, "render"), type="primary", disabled=busy, on_click=on_render, args=("form",))
    if ss.get("images"):
        same_col.button(t(lang, "rerender_same"), disabled=busy, on_click=on_render, args=("same",))
        new_col.button(t(lang, "rerender_new"), disabled=busy, on_click=on_render, args=("new",))

    ui.watch({"render": apply_render})

    images = ss.get("images", [])
    if images:
        st.caption(t(lang, "session_images"))
        for row in range(0, len(images), 4):
            for column, (file_name, seed) in zip(st.columns(4), images[row:row + 4]):
                path = store.image_path(file_name)
                if not path.exists():
                    continue
                with column:
                    st.image(str(path), caption=t(lang, "seed_used", seed=seed))
                    st.download_button(t(lang, "download_png"), path.read_bytes(),
                                       file_name=f"{file_stem(brief.product)}-{seed}.png", mime="image/png",
                                       key=f"dl_{file_name}")
    creatives.section(store, ss["draft_id"], lang, busy)
else:
    st.info(t(lang, "write_first"))
