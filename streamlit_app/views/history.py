"""History page: find drafts, review them, compare versions, edit copy and images and re-render, comment, export."""
import dataclasses

import numpy as np
import streamlit as st
from PIL import Image

from core.content.brief import ContentType
from core.errors import CoreError, SettingsError
from core.image.editing import (DEFAULT_STRENGTH, FORMATS, MASK_THRESHOLD, STRENGTH, EditKind, edit_arguments,
                                edit_settings, region_preview)
from core.files import file_stem
from core.image.uploads import read_upload
from core.studio.creatives import storyboard_pdf
from core.studio.export import export_zip
from core.studio.jobs import STORYBOARD_SIZE
from core.studio.records import ReviewState
from streamlit_app import creatives, resources, ui
from streamlit_app.brush import brush_mask
from core.labels import UI_LANGUAGES, draft_label, skipped_text, t

ss = st.session_state
PAGE = 50  # drafts listed at a time: an agency's history runs to thousands
lang = ui.lang()
studio = resources.studio()
store = studio.store


def safely(action, *args) -> None:
    """Run a store action from a callback; a refused action becomes an error message, never a traceback."""
    try:
        action(*args)
    except CoreError as error:
        ss["error"] = error


def on_rerender(draft_id: str) -> None:
    """Render the edited prompt with the settings of the draft's newest image (defaults where it has none)."""
    try:
        draft = store.get(draft_id)
    except CoreError as error:
        ss["error"] = error
        return
    settings = draft.new_image_settings()
    author, prompt, negative = ss["reviewer"], ss[f"h_prompt_{draft_id}"], ss[f"h_negative_{draft_id}"]
    ui.submit("rerender", lambda owner: studio.render(draft_id, prompt, negative, settings, author, owner))


def on_duplicate(draft_id: str) -> None:
    try:
        new_id = store.duplicate(draft_id, ss["reviewer"])
    except CoreError as error:
        ss["error"] = error
        return
    ss.update(open_draft=new_id, notice=t(lang, "duplicated", product=store.get(new_id).brief.product))


def on_delete(draft_id: str, deleted: bool) -> None:
    """Into the bin (with an undo button on the next run) or back out of it."""
    try:
        store.delete(draft_id, ss["reviewer"], deleted)
    except CoreError as error:
        ss["error"] = error
        return
    ss["undo_delete"] = draft_id if deleted else None
    if deleted:
        ss["open_draft"] = None


def show_brief(brief) -> None:
    """The brief the draft was written from, field by field, as the team typed it."""
    with st.expander(t(lang, "brief_details")):
        rows = [("content_type", t(lang, f"type_{brief.content_type.value}")),
                ("language", UI_LANGUAGES[brief.language.value]), ("audience", brief.audience),
                ("tone", brief.tone), ("cta", brief.call_to_action), ("keywords", ", ".join(brief.keywords)),
                ("link", brief.link), ("key_facts", brief.key_facts), ("brand_notes", brief.brand_notes),
                ("kit", brief.kit.label if brief.kit else "")]
        for label, value in rows:
            if value.strip():
                st.markdown(f"**{t(lang, label)}:** {ui.md_escape(value)}")


def on_edit(draft_id: str) -> None:
    """Queue the edit chosen in the edit panel of the open draft."""
    key = f"h_edit_{draft_id}"
    try:
        draft = store.get(draft_id)
        parent = draft.image_version(ss[f"{key}_from"])
        kind, region = ss[f"{key}_kind"], ss.get(f"{key}_region", "rectangle")
        painted, keep = None, ss.get(f"{key}_keep", False)
        if kind == EditKind.INPAINT.value and region == "brush":
            painted = ss.get(f"{key}_painted")
            if painted is None:
                raise SettingsError("mask", "", "mask_empty")
        elif kind == EditKind.INPAINT.value and region == "cutout":
            painted, keep = store.cut_out(parent), True  # the product stays, its background is repainted
        edit = edit_arguments(kind, (parent.settings.width, parent.settings.height), ss.get(f"{key}_strength"),
                              ss.get(f"{key}_x", (0, 100)), ss.get(f"{key}_y", (0, 100)), ss.get(f"{key}_target"),
                              painted, keep)
        settings = edit_settings(parent.settings)
    except CoreError as error:
        ss["error"] = error
        return
    author, prompt, negative = ss["reviewer"], ss[f"{key}_prompt"], draft.prompt_version(parent.prompt_version)
    ui.submit("edit", lambda owner: studio.edit(draft_id, parent.n, kind, prompt, negative.negative_prompt, settings,
                                                author, owner, **edit))


def on_upload(draft_id: str) -> None:
    """Add the chosen photo to the draft as a new image version."""
    photo = ss.get(f"h_upload_{draft_id}")
    if photo is None:
        ss["error"] = SettingsError("upload", "", "empty")
        return
    try:
        version = store.add_upload(draft_id, read_upload(photo.getvalue(), photo.name), ss["reviewer"])
    except CoreError as error:
        ss["error"] = error
        return
    ss["notice"] = t(lang, "uploaded", name=photo.name, n=version.n, size=version.settings.size)
    ss[f"h_edit_{draft_id}_open"] = True  # where the photo is edited


def upload_panel(draft) -> None:
    """The team's own photo or sketch, added as an image version to edit from."""
    with st.expander(t(lang, "upload_title")):
        st.file_uploader(t(lang, "upload_file"), type=["png", "jpg", "jpeg", "webp"], key=f"h_upload_{draft.id}",
                         help=t(lang, "upload_help"))
        st.button(t(lang, "add_upload"), disabled=ui.busy(), key=f"h_upload_go_{draft.id}", on_click=on_upload,
                  args=(draft.id,))


def edit_panel(draft) -> None:
    """Edit one of the draft's images: a variation, a repainted region (a rectangle, brush strokes or an upload's
    background), or another format."""
    key = f"h_edit_{draft.id}"
    # opened by an upload, and then left open: a parameter that changes between runs would fold it under the user
    with st.expander(t(lang, "edit_image"), expanded=ss.get(f"{key}_open", False)):
        versions = {v.n: v for v in draft.image_versions}
        # a new widget for each new version, so the choice starts from the newest: an edit's result, an upload
        chosen = versions[st.selectbox(t(lang, "edit_from"), list(reversed(versions)),
                                       key=f"{key}_from_{len(versions)}",
                                       format_func=lambda n: f"v{n} · {versions[n].settings.size}")]
        ss[f"{key}_from"] = chosen.n
        kind = st.radio(t(lang, "edit_kind"), [k.value for k in EditKind], key=f"{key}_kind", horizontal=True,
                        format_func=lambda k: t(lang, f"edit_{k}"))
        ss.setdefault(f"{key}_prompt", draft.prompt_version(chosen.prompt_version).prompt)
        st.text_area(t(lang, "edit_prompt"), key=f"{key}_prompt", height=70)
        if kind == EditKind.VARIATION.value:
            st.slider(t(lang, "strength"), STRENGTH.low, STRENGTH.high, DEFAULT_STRENGTH, STRENGTH.step,
                      key=f"{key}_strength", help=t(lang, "strength_help"))
        elif kind == EditKind.INPAINT.value:
            region_controls(key, chosen)
        else:
            formats = [name for name, size in FORMATS.items() if size != (chosen.settings.width, chosen.settings.height)]
            st.selectbox(t(lang, "target_format"), formats, key=f"{key}_target",
                         format_func=lambda name: t(lang, f"format_{name}"))
        st.button(t(lang, "apply_edit"), type="primary", disabled=ui.busy(), key=f"{key}_go", on_click=on_edit,
                  args=(draft.id,))
        ui.watch({"edit": lambda result: None})


def region_controls(key: str, chosen) -> None:
    """How the region to repaint is marked: a rectangle, brush strokes, or an uploaded photo's cut-out."""
    modes = ["rectangle", "brush"] + (["cutout"] if store.cut_out(chosen) is not None else [])
    if ss.get(f"{key}_region_of") != chosen.n or ss.get(f"{key}_region") not in modes:
        # another image chosen: an upload's cut-out first, else the mode in use
        ss[f"{key}_region"] = "cutout" if "cutout" in modes else ss.get(f"{key}_region", "rectangle")
        ss[f"{key}_region_of"] = chosen.n
    region = st.radio(t(lang, "region_mode"), modes, key=f"{key}_region", horizontal=True,
                      format_func=lambda mode: t(lang, f"region_{mode}"))
    path = store.image_path(chosen.file)
    if region == "cutout":
        return
    st.checkbox(t(lang, "keep_region"), key=f"{key}_keep")
    if region == "brush":
        if not path.exists():
            return
        st.caption(t(lang, "brush_hint"))
        with Image.open(path) as image:
            try:
                painted = brush_mask(f"{key}_brush_{chosen.n}", image,
                                     {"label": t(lang, "region_brush"), "size_label": t(lang, "brush_size"),
                                      "clear_label": t(lang, "brush_clear")})
            except CoreError as error:
                painted = None
                st.error(ui.error_text(error))
        ss[f"{key}_painted"] = painted
        if painted is not None:
            share = np.mean(np.array(painted) >= MASK_THRESHOLD)
            st.caption(t(lang, "brush_painted", share=f"{100 * share:.0f}"))
        return
    left, right = st.slider(t(lang, "region_x"), 0, 100, (30, 70), key=f"{key}_x")
    top, bottom = st.slider(t(lang, "region_y"), 0, 100, (30, 70), key=f"{key}_y")
    if path.exists():
        keep = bool(ss.get(f"{key}_keep"))
        with Image.open(path) as image:
            preview = region_preview(image, (left / 100, top / 100, right / 100, bottom / 100), keep)
        st.image(preview, width=320, caption=t(lang, "region_preview_keep" if keep else "region_preview"))


def lineage(image) -> str:
    """Where an image version came from, in words, if it is an edit."""
    if not image.edit:
        return ""
    return " · " + t(lang, f"lineage_{image.edit}", parent=image.parent, strength=f"{image.strength or 0:g}",
                     size=image.settings.size)


def compare_images(draft) -> None:
    """Any two image versions side by side: before and after an edit."""
    images = draft.image_versions
    with st.expander(t(lang, "compare_images")):
        left, right = st.columns(2)
        numbers = [v.n for v in images]
        after = images[-1]
        before = after.parent if after.parent in numbers else numbers[-2]
        for column, label, default, side in ((left, "left", before, "a"), (right, "right", after.n, "b")):
            # keyed by the count too: a new image brings the pair back to the newest and what it came from
            n = column.selectbox(t(lang, label), numbers, index=numbers.index(default),
                                 key=f"h_cmp_{side}_{draft.id}_{len(numbers)}",
                                 format_func=lambda v: f"v{v}")
            path = store.image_path(draft.image_version(n).file)
            if path.exists():
                column.image(str(path), caption=f"v{n}{lineage(draft.image_version(n))}")


def storyboard(draft, busy: bool) -> None:
    """A video script's scenes as a strip of 9:16 frames, the newest image of each scene, and the PDF."""
    st.markdown(f"#### {t(lang, 'storyboard')}")
    scenes = {v.scene: v for v in draft.image_versions if v.scene is not None}
    if scenes:
        for column, (number, version) in zip(st.columns(len(scenes)), sorted(scenes.items())):
            path = store.image_path(version.file)
            if path.exists():
                column.image(str(path), caption=t(lang, "scene_n", n=number))
        st.download_button(t(lang, "storyboard_pdf"), storyboard_pdf(store, [draft.id]),
                           file_name=f"{file_stem(draft.brief.product)}-storyboard.pdf", mime="application/pdf",
                           key=f"h_sb_pdf_{draft.id}")
    settings = dataclasses.replace(draft.new_image_settings(), width=STORYBOARD_SIZE[0], height=STORYBOARD_SIZE[1])
    author = ss["reviewer"]
    st.button(t(lang, "storyboard_make"), key=f"h_sb_{draft.id}", disabled=busy,
              on_click=lambda: ui.submit("storyboard", lambda owner: resources.studio().storyboard(
                  draft.id, settings, author, owner)))
    ui.watch({"storyboard": lambda result: None})


def version_label(version) -> str:
    return f"v{version.n} — {version.author} — {version.at[:16].replace('T', ' ')}"


def show_draft(draft_id: str) -> None:
    draft = store.get(draft_id)
    busy = ui.busy()
    st.subheader(f"{ui.md_escape(draft.brief.product)} · {t(lang, 'type_' + draft.brief.content_type.value)}")
    st.caption(f"{t(lang, 'state')}: **{t(lang, 'state_' + draft.state.value)}** · {draft_id}")
    if draft.state_history and draft.state_history[-1].event == "changed_after_approval":
        st.warning(t(lang, "changed_after_approval"))
    show_brief(draft.brief)
    reopen, copy, remove = st.columns(3)
    if reopen.button(t(lang, "reopen"), key=f"h_reopen_{draft_id}", disabled=busy):
        ss.pop("brief", None)  # the Generate page loads the draft named in its address
        st.switch_page("views/generate.py", query_params={"draft": draft_id})
    copy.button(t(lang, "duplicate"), key=f"h_dup_{draft_id}", disabled=busy, on_click=on_duplicate,
                args=(draft_id,))
    if draft.deleted:
        remove.button(t(lang, "undelete"), key=f"h_undel_{draft_id}", on_click=on_delete, args=(draft_id, False))
    else:
        remove.button(t(lang, "delete"), key=f"h_del_{draft_id}", on_click=on_delete, args=(draft_id, True))

    # review state
    allowed = sorted(s.value for s in draft.state.next_states)
    a, b = st.columns([3, 1])
    a.selectbox(t(lang, "move_to"), allowed, key=f"h_state_{draft_id}", format_func=lambda s: t(lang, f"state_{s}"))
    b.button(t(lang, "change_state"), disabled=busy, key=f"h_state_btn_{draft_id}",
             on_click=lambda: safely(store.set_state, draft_id, ss[f"h_state_{draft_id}"], ss["reviewer"]))

    # copy: edit makes a new version; compare any two side by side
    st.markdown(f"#### {t(lang, 'copy_versions')}")
    copies = draft.copy_versions
    key = f"h_copy_{draft_id}_{len(copies)}"  # a new key per version count, so a saved edit reloads cleanly
    st.text_area(t(lang, "copy"), value=draft.copy.text, key=key, height=200)
    st.button(t(lang, "save_copy"), disabled=busy or not (ss.get(key) or "").strip() or ss.get(key) == draft.copy.text,
              key=f"h_save_{draft_id}",
              on_click=lambda: safely(store.add_copy_version, draft_id, ss[key], ss["reviewer"], "edit",
                                      copies[-1].n))
    if len(copies) > 1:
        with st.expander(t(lang, "compare")):
            left, right = st.columns(2)
            labels = [version_label(v) for v in copies]
            pick_left = left.selectbox(t(lang, "left"), range(len(copies)), index=len(copies) - 2,
                                       format_func=labels.__getitem__, key=f"h_cl_{draft_id}")
            pick_right = right.selectbox(t(lang, "right"), range(len(copies)), index=len(copies) - 1,
                                         format_func=labels.__getitem__, key=f"h_cr_{draft_id}")
            left.text(copies[pick_left].text)
            right.text(copies[pick_right].text)

    # visual prompt: edit and re-render as a new image version
    st.markdown(f"#### {t(lang, 'prompt_versions')}")
    ss.setdefault(f"h_prompt_{draft_id}", draft.prompt.prompt)
    ss.setdefault(f"h_negative_{draft_id}", draft.prompt.negative_prompt)
    st.text_area(t(lang, "prompt"), key=f"h_prompt_{draft_id}", height=90)
    st.text_area(t(lang, "negative"), key=f"h_negative_{draft_id}", height=60)
    st.button(t(lang, "rerender"), type="primary", disabled=busy, key=f"h_render_{draft_id}",
              on_click=on_rerender, args=(draft_id,))
    ui.watch({"rerender": lambda result: None})

    # images, newest first, each with its seed and prompt version
    st.markdown(f"#### {t(lang, 'image_versions')}")
    images = list(reversed(draft.image_versions))
    if not images:
        st.caption(t(lang, "no_images"))
    for row in range(0, len(images), 3):
        for column, image in zip(st.columns(3), images[row:row + 3]):
            with column:
                path = store.image_path(image.file)
                if path.exists():
                    caption = t(lang, "upload_caption", n=image.n, author=image.author) if image.edit == "upload" \
                        else t(lang, "image_caption", n=image.n, seed=image.seed, prompt=image.prompt_version,
                               author=image.author) + lineage(image)
                    st.image(str(path), caption=caption)
                    if image.n == draft.favorite:
                        st.caption(t(lang, "favorite"))
                    else:
                        st.button(t(lang, "mark_favorite"), key=f"h_fav_{draft_id}_{image.n}", disabled=busy,
                                  on_click=lambda n=image.n: safely(store.set_favorite, draft_id, n, ss["reviewer"]))
    upload_panel(draft)
    if images:
        edit_panel(draft)
    if len(images) > 1:
        compare_images(draft)
    if draft.brief.content_type.value == "video_script":
        storyboard(draft, busy)
    creatives.section(store, draft_id, lang, busy)

    # comments
    st.markdown(f"#### {t(lang, 'comments')}")
    for comment in draft.comments:
        st.markdown(f"**{ui.md_escape(comment.author)}** · {comment.at[:16].replace('T', ' ')}")
        st.text(comment.text)
    with st.form(f"h_comment_form_{draft_id}", clear_on_submit=True):
        st.text_area(t(lang, "comment"), key=f"h_comment_{draft_id}", max_chars=2000)
        st.form_submit_button(t(lang, "add_comment"), disabled=busy,
                              on_click=lambda: safely(store.add_comment, draft_id, ss[f"h_comment_{draft_id}"],
                                                      ss["reviewer"]))
    if draft.archived:
        st.button(t(lang, "restore"), key=f"h_restore_{draft_id}",
                  on_click=lambda: safely(store.archive, draft_id, ss["reviewer"], False))
    else:
        st.button(t(lang, "archive"), key=f"h_archive_{draft_id}",
                  on_click=lambda: safely(store.archive, draft_id, ss["reviewer"], True))


st.title(t(lang, "history_title"))
ui.show_error()
if notice := ss.pop("notice", None):
    st.success(notice)
if undo := ss.get("undo_delete"):
    with st.container(border=True):
        gone = st.columns([4, 1])
        try:
            gone[0].info(t(lang, "deleted", product=store.get(undo).brief.product))
            gone[1].button(t(lang, "undo"), key="h_undo", on_click=on_delete, args=(undo, False))
        except CoreError:
            ss["undo_delete"] = None
columns = st.columns([1, 1, 1, 1.6, 1.2, 0.8])
state = columns[0].selectbox(t(lang, "filter_state"), ["", *(s.value for s in ReviewState)], key="h_f_state",
                             format_func=lambda s: t(lang, f"state_{s}") if s else t(lang, "all"))
kind = columns[1].selectbox(t(lang, "filter_type"), ["", *(c.value for c in ContentType)], key="h_f_type",
                            format_func=lambda c: t(lang, f"type_{c}") if c else t(lang, "all"))
author = columns[2].selectbox(t(lang, "filter_author"), ["", *store.authors()], key="h_f_author",
                              format_func=lambda a: a or t(lang, "all"))
text = columns[3].text_input(t(lang, "filter_text"), key="h_f_text")
archived = columns[4].checkbox(t(lang, "show_archived"), key="h_f_archived")
in_bin = columns[5].checkbox(t(lang, "show_deleted"), key="h_f_deleted")
drafts = store.list_drafts(state=state or None, content_type=kind or None, author=author or None, text=text,
                           archived=archived, deleted=in_bin)
if store.skipped:
    st.warning(skipped_text(store.skipped, lang))

list_col, detail_col = st.columns([2, 3])
with list_col:
    if not drafts:
        st.info(t(lang, "no_drafts"))
    shown = ss.setdefault("h_shown", PAGE)
    for draft in drafts[:shown]:
        with st.container(border=True):
            thumb, info = st.columns([1, 3])
            if draft.image_versions:
                path = store.image_path(draft.image_versions[-1].file)
                if path.exists():
                    thumb.image(str(path), width=80)
            info.markdown(f"**{ui.md_escape(draft.brief.product)}**")
            if draft.copied_from:
                info.caption(t(lang, "copy_of", product=f"{draft.brief.product[:40]} ({draft.copied_from[-6:]})"))
            info.caption(f"{t(lang, 'type_' + draft.brief.content_type.value)} · "
                         f"{t(lang, 'state_' + draft.state.value)} · {ui.md_escape(draft.created_by)} · "
                         f"{draft.updated_at[:16].replace('T', ' ')}")
            info.button(t(lang, "open"), key=f"h_open_{draft.id}", on_click=lambda d=draft.id: ss.update(open_draft=d))
    if len(drafts) > shown:
        st.button(t(lang, "show_more", n=len(drafts) - shown), key="h_more",
                  on_click=lambda: ss.update(h_shown=shown + PAGE))
    if drafts:
        names = {d.id: draft_label(d, lang) for d in drafts}
        st.multiselect(t(lang, "select_export"), list(names), key="h_export", placeholder=t(lang, "choose"),
                       format_func=lambda draft_id: names.get(draft_id, draft_id))
        if ss.get("h_export"):
            st.download_button(t(lang, "download_zip"), export_zip(store, ss["h_export"], lang),
                               file_name="content-studio-export.zip", mime="application/zip")

with detail_col:
    if ss.get("open_draft"):
        try:
            show_draft(ss["open_draft"])
        except CoreError as error:
            st.error(ui.error_text(error))
