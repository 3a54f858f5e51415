"""Catalog batch page: a CSV or XLSX of products in, a draft per row and channel under one brand kit, with each bad
row named; progress while it runs, resumable after a restart, and the whole batch as one ZIP."""
from pathlib import Path

import streamlit as st

from core.content.brief import ContentType, Language
from core.errors import CoreError
from core.labels import UI_LANGUAGES, t
from core.messages import FIELD_NAMES, render
from core.studio.batch import (COLUMN_NAMES, Batches, export_batch, guess_columns, item_message, item_problems,
                               plan_batch, read_catalog)
from streamlit_app import resources, ui

ss = st.session_state
lang = ui.lang()
studio = resources.studio()
batches = Batches(studio.store)
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "catalogo-exemplo.csv"
FIELD_LABEL = {"price": ("price", "Preço", "Precio")}


def field_label(name: str) -> str:
    words = FIELD_LABEL.get(name) or FIELD_NAMES[name]
    return words[{"en": 0, "pt-BR": 1, "es": 2}.get(lang, 1)]


def on_start(catalog, name: str) -> None:
    try:
        columns = {field: ss[f"b_col_{field}"] for field in COLUMN_NAMES if ss.get(f"b_col_{field}")}
        kit = studio.store.kits.get(ss["b_kit"]) if ss.get("b_kit") else None
        items = plan_batch(catalog, columns, ss["b_channels"], ss["b_language"], kit)
        batch = batches.create(name, items, ss["reviewer"], ss["b_language"], kit, ss["b_images"])
    except CoreError as error:
        ss["error"] = error
        return
    start(batch.id)


def start(batch_id: str) -> None:
    author = ss["reviewer"]
    ui.submit("batch", lambda owner: studio.batch(batch_id, author, owner))


st.title(t(lang, "nav_batch"))
ui.show_error()
if notice := ss.pop("notice", None):
    st.success(notice)
ui.reattach(("batch",))
busy = ui.busy()
st.download_button(t(lang, "batch_sample"), SAMPLE.read_bytes(), file_name=SAMPLE.name, mime="text/csv")
upload = st.file_uploader(t(lang, "batch_file"), type=["csv", "xlsx"], key="b_file")
if upload is not None:
    try:
        catalog = read_catalog(upload.getvalue(), upload.name)
    except CoreError as error:
        st.error(error.text(lang))
        catalog = None
    if catalog is not None:
        st.dataframe([dict(zip(catalog.headers, row)) for row in catalog.rows[:5]], hide_index=True)
        guessed = guess_columns(catalog.headers)
        with st.form("batch_form", enter_to_submit=False):
            columns = st.columns(3)
            for index, field in enumerate(COLUMN_NAMES):
                options = ["", *catalog.headers]
                columns[index % 3].selectbox(t(lang, "batch_column", field=field_label(field)), options,
                                             index=options.index(guessed.get(field, "")), key=f"b_col_{field}",
                                             format_func=lambda h: h or t(lang, "column_none"))
            kits = {kit.id: kit.label for kit in studio.store.kits.list()}
            left, right = st.columns(2)
            left.selectbox(t(lang, "kit"), ["", *kits], key="b_kit",
                           format_func=lambda kit_id: kits.get(kit_id, t(lang, "no_kit")))
            right.selectbox(t(lang, "language"), [lg.value for lg in Language], key="b_language",
                            format_func=UI_LANGUAGES.get)
            st.multiselect(t(lang, "batch_channels"), [c.value for c in ContentType], default=["instagram"],
                           key="b_channels", format_func=lambda v: t(lang, f"type_{v}"))
            st.checkbox(t(lang, "batch_images"), value=True, key="b_images")
            st.form_submit_button(t(lang, "batch_start"), type="primary", disabled=busy, on_click=on_start,
                                  args=(catalog, upload.name))

ui.watch({"batch": lambda result: ss.update(notice=t(lang, "batch_status", done=result.count("done"),
                                                      failed=result.count("failed"), left=0))})

st.subheader(t(lang, "batch_list"))
listed = batches.list()
for damaged in batches.skipped:  # one bad file costs its own line, never the page
    st.warning(damaged.text(lang))
for batch in listed[:10]:
    left = len(batch.items) - batch.count("done") - batch.count("failed")
    with st.container(border=True):
        st.markdown(f"**{ui.md_escape(batch.name)}** · {batch.created_at[:16].replace('T', ' ')} · "
                    f"{ui.md_escape(batch.author)}")
        st.caption(t(lang, "batch_status", done=batch.count("done"), failed=batch.count("failed"), left=left))
        errors = [message.text(lang) for item in batch.items if (message := item_message(item))]
        for error in errors[:20]:
            st.caption(f":material/error: {error}")
        if batch.with_problems:  # done, but not ready to publish: never counted as simply done
            st.caption(t(lang, "batch_problems", n=batch.with_problems))
            for item in [item for item in batch.items if item.status == "done" and item.problems][:20]:
                st.caption(f":material/warning: {t(lang, 'batch_row', row=item.row, channel=item.channel)}: "
                           + "; ".join(problem.text(lang) for problem in item_problems(item)))
        a, b = st.columns(2)
        if left and not busy:
            a.button(t(lang, "batch_resume"), key=f"b_resume_{batch.id}", on_click=start, args=(batch.id,))
        if batch.count("done") or batch.count("failed"):
            b.download_button(t(lang, "batch_export"), export_batch(studio.store, batch, lang),
                              file_name=f"{Path(batch.name).stem}-{batch.id}.zip", mime="application/zip",
                              key=f"b_zip_{batch.id}")
