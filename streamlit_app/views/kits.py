"""Brand kits page: the team's kits, and a form to create one or save a new version of it (logo and font included)."""
import dataclasses

import streamlit as st

from core.content.brand import KIT_LIMITS, BrandKit, parse_words
from core.errors import CoreError
from core.labels import t
from core.studio.kits import KitAsset
from streamlit_app import resources, ui

ss = st.session_state
lang = ui.lang()
store = resources.studio().store
# the form's fields: session key, label, the kit's field, parsed as a list
FIELDS = (("k_voice", "kit_voice", "voice", False), ("k_required", "kit_required", "required_words", True),
          ("k_banned", "kit_banned", "banned_words", True), ("k_hashtags", "kit_hashtags", "hashtags", True),
          ("k_cta", "kit_cta", "call_to_action", False), ("k_colors", "kit_colors", "colors", True),
          ("k_style", "kit_style", "visual_style", False), ("k_negative", "kit_negative", "negative_prompt", False))


def load(kit_id: str) -> None:
    """Fill the form with a kit's newest version, or empty it for a new kit."""
    kit = store.kits.get(kit_id) if kit_id else BrandKit("—")
    ss["k_name"] = kit.name if kit_id else ""
    for key, _, name, listed in FIELDS:
        value = getattr(kit, name)
        ss[key] = ", ".join(value) if listed else value


def save() -> None:
    try:
        base = store.kits.get(ss["k_pick"]) if ss["k_pick"] else BrandKit(ss["k_name"] or "—")
        changes = {name: parse_words(ss[key]) if listed else ss[key] for key, _, name, listed in FIELDS}
        kit = dataclasses.replace(base, name=ss["k_name"], **changes)
        logo, font = ss.get("k_logo"), ss.get("k_font")
        saved = store.kits.save(kit, ss["reviewer"], KitAsset(logo.getvalue(), logo.name) if logo else None,
                                KitAsset(font.getvalue(), font.name) if font else None)
    except CoreError as error:
        ss["error"] = error
        return
    ss["k_pick_next"] = saved.id
    ss["notice"] = t(lang, "kit_saved", name=saved.name, version=saved.version)


st.title(t(lang, "nav_kits"))
ui.show_error()
if notice := ss.pop("notice", None):
    st.success(notice)
kits = {kit.id: kit for kit in store.kits.list()}
for damaged in store.kits.skipped:  # one bad record costs its own line, never the page
    st.warning(damaged.text(lang))
if "k_pick_next" in ss:  # chosen before the picker is drawn: a widget's value cannot change after
    ss["k_pick"] = ss.pop("k_pick_next")
    load(ss["k_pick"])
if not kits:
    st.info(t(lang, "kit_none_yet"))
st.selectbox(t(lang, "kit_edit"), ["", *kits], key="k_pick", on_change=lambda: load(ss["k_pick"]),
             format_func=lambda kit_id: kits[kit_id].label if kit_id in kits else t(lang, "kit_new"))
if "k_name" not in ss:
    load(ss.get("k_pick", ""))
chosen = kits.get(ss["k_pick"])
if chosen is not None:
    left, right = st.columns(2)
    if chosen.colors:
        left.markdown(" ".join(f":material/circle: `{color}`" for color in chosen.colors))
        left.html("".join(f'<span style="display:inline-block;width:28px;height:28px;margin-right:6px;'
                          f'border:1px solid #888;background:{color}"></span>' for color in chosen.colors))
    if (logo := store.kits.logo(chosen)) is not None:
        right.image(logo, width=160)
with st.form("kit_form", enter_to_submit=False):
    st.text_input(t(lang, "kit_name"), key="k_name", help=t(lang, "limit_help", n=KIT_LIMITS["kit_name"]))
    for key, label, name, listed in FIELDS:
        if name in ("voice",):
            st.text_area(t(lang, label), key=key, height=80)
        else:
            st.text_input(t(lang, label), key=key)
    st.file_uploader(t(lang, "kit_logo"), type=["png"], key="k_logo")
    st.file_uploader(t(lang, "kit_font"), type=["ttf", "otf"], key="k_font")
    st.form_submit_button(t(lang, "kit_save"), type="primary", on_click=save)
