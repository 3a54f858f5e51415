"""The studio inside a notebook (Colab's free tier allows no web UIs): the brief, the streamed copy, the English
visual prompt and the image, with ipywidgets 7.7.1 (Colab's) or 8 (Jupyter), on the same core as every face.

Model work goes through the Studio's one worker; a thread per job brings its progress and result back into the
widgets, so the notebook stays responsive while a job runs and a double click never runs two pipelines."""
from __future__ import annotations

import html
import io
import logging
import threading
from collections import deque
from functools import lru_cache
from pathlib import Path

import ipywidgets as w
from PIL import Image

from core.content.brief import FIELD_LIMITS, Brief, ContentType, Language, parse_keywords
from core.content.channels import measure
from core.content.clip_tokens import count_clip_tokens
from core.content.visual_prompt import window_warnings
from core.downloads import hush_libraries
from core.errors import CoreError
from core.files import atomic_write, file_stem
from core.image.editing import DEFAULT_STRENGTH, FORMATS, STRENGTH, EditKind, edit_arguments, edit_settings
from core.image.settings import QUALITIES, SDXL_SIZES, ImageSettings
from core.image.uploads import read_upload
from core.labels import UI_LANGUAGES, draft_label, phase_text, rule_label, skipped_text, t
from core.studio.export import export_zip
from core.studio.history import check_author
from core.studio.root import Studio, get_studio
from core.studio.worker import Job, JobState

log = logging.getLogger(__name__)
POLL_S = 0.25
RECENT_CARDS = 8  # drafts shown as cards with their newest image, above the full list
THUMB_PX = 120
LABELLED_MIN_WIDTH = "400px"
# light text on the notebook's own background: readable in Colab's dark theme and Jupyter's light one
STYLE = "<style>.studio-note{opacity:.8;font-size:90%}.studio-bad{color:#e5484d}.studio-ok{color:#30a46c}</style>"


def _fit_labels(widget: w.Widget) -> None:
    """Labels in full: pt-BR and Spanish labels run longer than the widths ipywidgets cuts them at, so buttons
    grow to their label and a description with no width of its own takes its text's (the brief's aligned 180 px
    column stays as it is)."""
    if isinstance(widget, (w.Button, w.FileUpload)):
        widget.layout.width = "max-content"
    elif getattr(widget, "description", "") and not getattr(widget.style, "description_width", "x"):
        widget.style.description_width = "initial"
        if isinstance(widget, w.ToggleButtons):
            widget.style.button_width = "auto"
        elif not isinstance(widget, w.Checkbox):  # room for the control beside a long label
            widget.layout.min_width = LABELLED_MIN_WIDTH
    for child in getattr(widget, "children", ()):
        _fit_labels(child)


class KernelThread:
    """ipywidgets are not thread-safe, and the kernel's own thread applies the page's widget messages (typing, a
    toggle) while a job's watcher would set widgets from its thread; an update lost in that race leaves the page
    stale. So the watcher's updates are queued and run on the kernel's thread (its IOLoop, between cells and
    messages). Outside a kernel (a script, a test) they run at once."""

    def __init__(self):
        try:
            from IPython import get_ipython
            kernel = getattr(get_ipython(), "kernel", None)
        except ImportError:
            kernel = None
        self._loop = getattr(kernel, "io_loop", None)
        self._pending: deque = deque()
        self._lock = threading.Lock()

    def run(self, update) -> None:
        """update() on the kernel's thread, after every update queued before it."""
        if self._loop is None:
            update()
            return
        with self._lock:
            self._pending.append(update)
        self._loop.add_callback(self.drain)

    def drain(self) -> None:
        """Run the queued updates, in order; on the kernel's thread."""
        while True:
            with self._lock:
                if not self._pending:
                    return
                update = self._pending.popleft()
            try:
                update()
            except Exception:  # noqa: BLE001 - one broken update must not stop the ones behind it
                log.exception("a widget update failed")


class NotebookStudio:
    """The notebook face: show it as the last expression of a cell (or call display()). language is the
    interface's (pt-BR, en or es); author signs drafts and versions."""

    def __init__(self, author: str, language: str = "pt-BR", studio: Studio | None = None):
        hush_libraries()  # the face shows its own progress: no library bars or warnings in the cell's output
        self.studio = studio or get_studio()
        # the models start loading now, while the brief is typed, and compile beside the lane once they serve: on
        # a fresh machine (a new Colab session) the first job waits for the load, never for minutes of compiling
        self.studio.preload()
        self.store = self.studio.store
        self.author = check_author(author)
        self.language = language if language in UI_LANGUAGES else "pt-BR"
        self.draft_id: str | None = None
        self.copy_base: int | None = None  # the copy version the generate tab's text started from
        self.brief: Brief | None = None
        self.images: list[tuple[str, int]] = []  # every image of this session: (file, seed), newest first
        self.job: Job | None = None
        self._watcher: threading.Thread | None = None
        self._shown: tuple | None = None  # the draft (and version counts) whose copy and prompt the history shows
        self._ui = KernelThread()
        self.widget = w.Tab(children=[self._generate_tab(), self._history_tab()])
        _fit_labels(self.widget)
        for index, key in enumerate(("nav_generate", "nav_history")):
            self.widget.set_title(index, self.t(key))

    def t(self, key: str, **values) -> str:
        return t(self.language, key, **values)

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)

    # -- generate ----------------------------------------------------------------------------------------------
    def _generate_tab(self) -> w.Widget:
        text = lambda key, name: w.Text(description=self.t(key), placeholder=self.t("limit_help", n=FIELD_LIMITS[name]),
                                        layout=w.Layout(width="98%"), style={"description_width": "180px"})
        self.product = text("product", "product")
        self.kit = w.Dropdown(options=[(self.t("no_kit"), "")] + [(k.label, k.id) for k in self.store.kits.list()],
                              description=self.t("kit"), style={"description_width": "180px"})
        self.content_type = w.Dropdown(options=[(self.t(f"type_{c.value}"), c.value) for c in ContentType],
                                       description=self.t("content_type"), style={"description_width": "180px"})
        self.copy_language = w.Dropdown(options=[(UI_LANGUAGES[lg.value], lg.value) for lg in Language],
                                        description=self.t("language"), style={"description_width": "180px"})
        self.audience, self.tone = text("audience", "audience"), text("tone", "tone")
        self.keywords = w.Text(description=self.t("keywords"), layout=w.Layout(width="98%"),
                               style={"description_width": "180px"})
        self.cta, self.link = text("cta", "call_to_action"), text("link", "link")
        area = lambda key, name: w.Textarea(description=self.t(key), layout=w.Layout(width="98%", height="70px"),
                                            placeholder=self.t("limit_help", n=FIELD_LIMITS[name]),
                                            style={"description_width": "180px"})
        self.key_facts, self.brand_notes = area("key_facts", "key_facts"), area("brand_notes", "brand_notes")
        self.write_button = w.Button(description=self.t("write"), button_style="primary", icon="pencil")
        self.write_button.on_click(lambda _: self.write())
        self.cancel_button = w.Button(description=self.t("cancel"), icon="stop", disabled=True)
        self.cancel_button.on_click(lambda _: self.cancel())
        self.status = w.HTML()
        self.progress = w.FloatProgress(min=0.0, max=1.0, layout=w.Layout(width="98%"))
        self.copy = w.Textarea(layout=w.Layout(width="98%", height="220px"))
        self.copy.observe(lambda _: self._show_rules(), "value")
        self.rules = w.HTML()
        self.save_copy_button = w.Button(description=self.t("save_copy"), icon="save")
        self.save_copy_button.on_click(lambda _: self.save_copy())
        self.prompt = w.Textarea(description=self.t("prompt"), layout=w.Layout(width="98%", height="80px"))
        self.negative = w.Textarea(description=self.t("negative"), layout=w.Layout(width="98%", height="60px"))
        for box in (self.prompt, self.negative):
            box.observe(lambda _: self._show_tokens(), "value")
        self.tokens = w.HTML()
        self.notes = w.HTML()
        self.size = w.Dropdown(options=[f"{w_}x{h}" for w_, h in SDXL_SIZES], description=self.t("size"))
        self.seed = w.IntText(value=42, description=self.t("seed"))
        self.fixed_seed = w.Checkbox(value=False, description=self.t("seed_fixed"))
        self.steps = self._slider("steps", w.IntSlider)
        self.guidance = self._slider("guidance", w.FloatSlider)
        self.candidates = self._slider("candidates", w.IntSlider)
        self.refiner = w.Checkbox(value=ImageSettings.default("use_refiner"), description=self.t("refiner"))
        # the fast mode (a few-step LoRA), offered where the studio can run it; what it trades is said under it
        self.quality = w.ToggleButtons(options=[(self.t(f"quality_{q}"), q) for q in QUALITIES],
                                       description=self.t("quality"))
        self.quality_help = w.HTML(f"<small>{html.escape(self.t('fast_help'))}</small>",
                                   layout=w.Layout(display="none"))
        self.quality.observe(lambda _: self._show_quality(), "value")
        if self.studio.fast_unavailable() is not None:
            self.quality.layout.display = "none"
        self.render_button = w.Button(description=self.t("render"), button_style="primary", icon="image")
        self.render_button.on_click(lambda _: self.render("form"))
        self.same_button = w.Button(description=self.t("rerender_same"), icon="repeat")
        self.same_button.on_click(lambda _: self.render("same"))
        self.new_button = w.Button(description=self.t("rerender_new"), icon="random")
        self.new_button.on_click(lambda _: self.render("new"))
        self.gallery = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        # edits of the newest image: a variation, a rectangle repainted, another format
        self.edit_kind = w.Dropdown(options=[(self.t(f"edit_{k.value}"), k.value) for k in EditKind],
                                    description=self.t("edit_kind"))
        self.strength = w.FloatSlider(value=DEFAULT_STRENGTH, min=STRENGTH.low, max=STRENGTH.high, step=STRENGTH.step,
                                      description=self.t("strength"))
        self.region_x = w.IntRangeSlider(value=(30, 70), min=0, max=100, description=self.t("region_x"))
        self.region_y = w.IntRangeSlider(value=(30, 70), min=0, max=100, description=self.t("region_y"))
        self.target = w.Dropdown(options=[(self.t(f"format_{name}"), name) for name in FORMATS],
                                 description=self.t("target_format"), value="story")
        self.region = w.Dropdown(options=[(self.t(f"region_{m}"), m) for m in ("rectangle", "cutout")],
                                 description=self.t("region_mode"))
        self.keep_region = w.Checkbox(value=False, description=self.t("keep_region"),
                                      layout=w.Layout(width="98%"))
        self.edit_button = w.Button(description=self.t("apply_edit"), icon="magic")
        self.edit_button.on_click(lambda _: self.edit())
        # the team's own photo, added as the newest image to edit from
        self.upload = w.FileUpload(accept=".png,.jpg,.jpeg,.webp", multiple=False, description=self.t("upload_title"))
        self.upload_button = w.Button(description=self.t("add_upload"), icon="upload")
        self.upload_button.on_click(lambda _: self.add_upload())
        edit_box = w.VBox([w.HTML(f"<b>{self.t('edit_image')}</b>"), self.edit_kind, self.strength, self.region,
                           self.keep_region, self.region_x, self.region_y, self.target, self.edit_button,
                           w.HTML(f"<b>{self.t('upload_title')}</b><div class='studio-note'>"
                                  f"{html.escape(self.t('upload_help'))}</div>"),
                           w.HBox([self.upload, self.upload_button])])
        self.result_box = w.VBox([
            w.HTML(f"<h3>{self.t('copy')}</h3>"), self.copy, self.rules, self.save_copy_button,
            w.HTML(f"<h3>{self.t('visual')}</h3>"), self.prompt, self.tokens, self.negative, self.notes,
            w.HTML(f"<b>{self.t('image_settings')}</b>"), self.quality, self.quality_help,
            w.HBox([self.size, self.seed, self.fixed_seed]), w.HBox([self.steps, self.guidance]),
            w.HBox([self.candidates, self.refiner]), w.HBox([self.render_button, self.same_button, self.new_button]),
            self.gallery, edit_box], layout=w.Layout(display="none"))
        form = w.VBox([w.HTML(STYLE + f"<h3>{self.t('brief')}</h3>"), self.product, self.kit,
                       w.HBox([self.content_type, self.copy_language]), self.audience, self.tone, self.keywords,
                       self.cta, self.link, self.key_facts, self.brand_notes])
        return w.VBox([form, w.HBox([self.write_button, self.cancel_button]), self.status, self.progress,
                       self.result_box])

    def _slider(self, name: str, kind) -> w.Widget:
        bound = ImageSettings.bound(name)
        return kind(value=ImageSettings.default(name), min=bound.low, max=bound.high, step=bound.step,
                    description=self.t(name))

    def brief_from_form(self) -> Brief:
        brief = Brief(product=self.product.value, content_type=self.content_type.value,
                      language=self.copy_language.value, audience=self.audience.value, tone=self.tone.value,
                      keywords=parse_keywords(self.keywords.value), call_to_action=self.cta.value,
                      brand_notes=self.brand_notes.value, key_facts=self.key_facts.value, link=self.link.value)
        return brief.under_kit(self.store.kits.get(self.kit.value) if self.kit.value else None)

    def write(self) -> None:
        """Queue the copy and visual prompt for the brief in the form."""
        try:
            brief = self.brief_from_form()
        except CoreError as error:
            return self._error(error)
        self._start(self.studio.write(brief, self.author, "notebook"), self._apply_write)

    def render(self, seed_choice: str) -> None:
        """Queue images of the prompt as edited: seed from the form ("form"), the last one ("same"), or new."""
        if self.draft_id is None:
            return self._say(self.t("write_first"))
        seed = None
        if seed_choice == "same" and self.images:
            seed = self.images[0][1]
        elif seed_choice == "form" and self.fixed_seed.value:
            seed = self.seed.value
        try:
            width, height = (int(v) for v in self.size.value.split("x"))
            settings = ImageSettings(width=width, height=height, steps=self.steps.value, guidance=self.guidance.value,
                                     seed=seed, use_refiner=self.refiner.value, candidates=self.candidates.value)
            settings = settings.fast() if self.quality.value == "fast" else settings
        except CoreError as error:
            return self._error(error)
        self._start(self.studio.render(self.draft_id, self.prompt.value, self.negative.value, settings, self.author,
                                       "notebook"), self._apply_render)

    def edit(self) -> None:
        """Queue an edit of the draft's newest image with the edit panel's choices; the result joins the images."""
        draft = self.store.get(self.draft_id) if self.draft_id else None
        if draft is None or not draft.image_versions:
            return self._say(self.t("no_images"))
        parent, kind = draft.image_versions[-1], self.edit_kind.value
        size = (parent.settings.width, parent.settings.height)
        painted, keep = None, self.keep_region.value
        if kind == EditKind.INPAINT.value and self.region.value == "cutout":
            painted, keep = self.store.cut_out(parent), True  # the product stays, its background is repainted
            if painted is None:
                return self._say(self.t("no_cutout"), "bad")
        try:
            edit = edit_arguments(kind, size, self.strength.value, self.region_x.value, self.region_y.value,
                                  self.target.value, painted, keep)
            settings = edit_settings(parent.settings)
        except CoreError as error:
            return self._error(error)
        self._start(self.studio.edit(draft.id, parent.n, kind, self.prompt.value, self.negative.value, settings,
                                     self.author, "notebook", **edit), self._apply_render)

    def add_upload(self) -> None:
        """The chosen photo, checked and fitted by core, as the draft's newest image version."""
        files = uploaded_files(self.upload.value)
        if self.draft_id is None or not files:
            return self._say(self.t("upload_file"), "bad")
        name, data = files[0]
        try:
            version = self.store.add_upload(self.draft_id, read_upload(data, name), self.author)
        except CoreError as error:
            return self._error(error)
        self.images = [(version.file, None), *self.images]
        self.gallery.children = tuple(self._image_card(file, seed) for file, seed in self.images)
        self.region.value = "cutout" if version.mask_file else "rectangle"
        self._say(self.t("uploaded", name=name, n=version.n, size=version.settings.size), "ok")

    def save_copy(self) -> None:
        """The copy as edited, saved as a new version of the draft."""
        try:
            self.copy_base = self.store.add_copy_version(self.draft_id, self.copy.value, self.author,
                                                         base=self.copy_base)
        except CoreError as error:
            return self._error(error)
        self._say(self.t("copy_saved"), "ok")

    def cancel(self) -> None:
        if self.job is not None:
            found = self.studio.lane_of(self.job.id)
            if found is not None:
                found[0].cancel(found[1])

    def wait(self, timeout: float = 600) -> bool:
        """Block until the current job's result is in the widgets (for scripts and tests); the widgets never need
        this."""
        if self._watcher is not None:
            self._watcher.join(timeout)
        if threading.current_thread() is threading.main_thread():  # a cell waiting: the kernel's loop cannot run
            self._ui.drain()
        return self._watcher is None or not self._watcher.is_alive()

    def _start(self, job: Job, apply) -> None:
        """Watch job on a thread: progress, phase and streamed text into the widgets, then its result."""
        self.job = job
        self._busy(True)
        self._watcher = threading.Thread(target=self._watch, args=(job, apply), daemon=True, name="notebook-job")
        self._watcher.start()

    def _watch(self, job: Job, apply) -> None:
        found = self.studio.lane_of(job.id)
        lane = found[0] if found else None
        while not job.done:
            self._ui.run(lambda: self._show_progress(job, lane))
            job.finished.wait(POLL_S)
        if lane is not None:
            lane.forget(job)
        self._ui.run(lambda: self._show_outcome(job, apply))

    def _show_progress(self, job: Job, lane) -> None:
        if job.done:  # the outcome is on its way
            return
        position = lane.position(job) if lane else 0
        warmup = self.studio.warming_up if position else None  # queued behind the models' first load: its progress
        shown = warmup or job
        self.status.value = html.escape(phase_text(shown, 0 if warmup else position, self.language))
        self.progress.value = min(max(shown.progress, 0.0), 1.0)
        if job.partial and job.label == "write":
            self.copy.value = job.partial
            self.result_box.layout.display = "flex"

    def _show_outcome(self, job: Job, apply) -> None:
        self._busy(False)
        self.progress.value = 1.0 if job.state is JobState.DONE else 0.0
        if job.state is JobState.DONE:
            self.status.value = ""
            apply(job.result)
        elif job.state is JobState.CANCELLED:
            self._say(self.t("cancelled"))
        else:
            self._error(job.failure or job.error)

    def _apply_write(self, result) -> None:
        self.open_draft(result.draft_id)
        notes = [*result.copy.repair_notes(), *(n for n in result.visual.notes if n.code != "clip_window")]
        self.notes.value = "".join(f"<div class='studio-note'>{html.escape(n.text(self.language))}</div>"
                                   for n in notes)
        self._say(self.t("draft_saved", product=self.brief.product), "ok")

    def _show_quality(self) -> None:
        """In the fast mode the LoRA sets steps, guidance and refiner: those controls rest, and the trade is said."""
        fast = self.quality.value == "fast"
        for control in (self.steps, self.guidance, self.refiner):
            control.disabled = fast
        self.quality_help.layout.display = "" if fast else "none"

    def _apply_render(self, result) -> None:
        self.images = [*reversed(result.image_files), *self.images]
        self.seed.value, self.fixed_seed.value = self.images[0][1], True  # the seed box shows the seed just used
        self.gallery.children = tuple(self._image_card(name, seed) for name, seed in self.images)

    def _image_card(self, file_name: str, seed: int | None) -> w.Widget:
        data = self.store.image_path(file_name).read_bytes()
        caption = self.t("lineage_upload", size="") if seed is None else self.t("seed_used", seed=seed)
        return w.VBox([w.Image(value=data, format="png", layout=w.Layout(width="256px")),
                       w.HTML(f"<div class='studio-note'>{html.escape(caption)}</div>")])

    def _show_rules(self) -> None:
        if self.brief is None:
            return
        parts = []
        for rule in measure(self.copy.value, self.brief):
            mark = "studio-ok" if rule.ok else "studio-bad"
            label = rule_label(rule, self.language)
            parts.append(f"<span class='{mark}'>{'✔' if rule.ok else '✘'} {html.escape(label)}</span>")
            parts += [f"<div class='studio-bad'>{html.escape(v.text(self.language))}</div>" for v in rule.violations]
        self.rules.value = " &nbsp; ".join(parts)

    def _show_tokens(self) -> None:
        counts = [self.t("tokens", n=count_clip_tokens(box.value)) for box in (self.prompt, self.negative)]
        warnings = [m.text(self.language) for m in window_warnings(self.prompt.value, self.negative.value)]
        self.tokens.value = "<div class='studio-note'>" + " · ".join(map(html.escape, counts)) + "</div>" + "".join(
            f"<div class='studio-bad'>{html.escape(text)}</div>" for text in warnings)

    def _busy(self, busy: bool) -> None:
        for button in (self.write_button, self.render_button, self.same_button, self.new_button,
                       self.save_copy_button, self.edit_button, self.upload_button, self.history_render_button):
            button.disabled = busy
        self.cancel_button.disabled = not busy

    def _error(self, error) -> None:
        text = error.text(self.language) if isinstance(error, CoreError) else self.t("unexpected", error=error)
        self._say(text, "bad")

    def _say(self, text: str, kind: str = "note") -> None:
        self.status.value = f"<div class='studio-{kind}'>{html.escape(text)}</div>"

    # -- history -----------------------------------------------------------------------------------------------
    def _history_tab(self) -> w.Widget:
        self.drafts = w.Select(rows=10, layout=w.Layout(width="98%"))
        self.refresh_button = w.Button(description=self.t("filter_text"), icon="refresh")
        self.refresh_button.on_click(lambda _: self.refresh_history())
        self.open_button = w.Button(description=self.t("reopen"), icon="folder-open")
        self.open_button.on_click(lambda _: self.open_draft(self.drafts.value))
        self.export_button = w.Button(description=self.t("download_zip"), icon="download")
        self.export_button.on_click(lambda _: self.export(Path.cwd()))
        self.history_status = w.HTML()
        self.thumbnail = w.Image(format="png", layout=w.Layout(width="160px"))
        self.review = w.HTML()
        self.next_state = w.Dropdown(description=self.t("move_to"))
        self.state_button = w.Button(description=self.t("change_state"), icon="check")
        self.state_button.on_click(lambda _: self._history_action(self.store.set_state, self.next_state.value))
        self.comments = w.HTML()
        self.comment = w.Textarea(placeholder=self.t("comment"), layout=w.Layout(width="98%", height="60px"))
        self.comment_button = w.Button(description=self.t("add_comment"), icon="comment")
        self.comment_button.on_click(lambda _: self._history_action(self.store.add_comment, self.comment.value))
        # the selected draft's copy and prompt, edited and saved or re-rendered right here
        self.history_copy = w.Textarea(layout=w.Layout(width="98%", height="140px"))
        self.history_copy_button = w.Button(description=self.t("save_copy"), icon="save")
        self.history_copy_button.on_click(lambda _: self._history_action(
            lambda draft_id, text, author: self.store.add_copy_version(draft_id, text, author,
                                                                       base=self._shown[1] if self._shown else None),
            self.history_copy.value))
        self.history_prompt = w.Textarea(description=self.t("prompt"), layout=w.Layout(width="98%", height="70px"))
        self.history_negative = w.Textarea(description=self.t("negative"),
                                           layout=w.Layout(width="98%", height="50px"))
        self.history_render_button = w.Button(description=self.t("rerender"), icon="image", button_style="primary")
        self.history_render_button.on_click(lambda _: self.rerender_selected())
        self.detail = w.VBox([
            w.HBox([self.thumbnail, w.VBox([self.review, w.HBox([self.next_state, self.state_button]),
                                            self.comments, self.comment, self.comment_button],
                                           layout=w.Layout(width="70%"))]),
            w.HTML(f"<b>{self.t('copy')}</b>"), self.history_copy, self.history_copy_button,
            w.HTML(f"<b>{self.t('visual')}</b>"), self.history_prompt, self.history_negative,
            self.history_render_button, self.status, self.progress])  # the job's progress shows here too
        self.recent = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.drafts.observe(lambda _: self.show_selected(), "value")
        self.refresh_history()
        return w.VBox([w.HTML(f"<h3>{self.t('history_title')}</h3>"), self.recent, self.refresh_button, self.drafts,
                       w.HBox([self.open_button, self.export_button]), self.history_status, self.detail])

    def rerender_selected(self) -> None:
        """The selected draft's prompt, as edited here, rendered as a new image version with the settings of its
        newest image (the defaults where it has none) and a new seed."""
        try:
            draft = self.store.get(self.drafts.value)
        except CoreError as error:
            return self._history_error(error)
        settings = draft.new_image_settings()
        self._start(self.studio.render(draft.id, self.history_prompt.value, self.history_negative.value, settings,
                                       self.author, "notebook"), lambda result: self.refresh_history())

    def show_selected(self) -> None:
        """The selected draft's newest image, review state and comments."""
        if not self.drafts.value:
            self.detail.layout.display = "none"
            return
        try:
            draft = self.store.get(self.drafts.value)
        except CoreError as error:
            self.history_status.value = f"<div class='studio-bad'>{html.escape(error.text(self.language))}</div>"
            return
        self.detail.layout.display = "flex"
        newest = draft.image_versions[-1] if draft.image_versions else None
        path = self.store.image_path(newest.file) if newest else None
        self.thumbnail.value = path.read_bytes() if path and path.exists() else b""
        self.review.value = (f"<b>{html.escape(draft.brief.product)}</b><br>{self.t('state')}: "
                             f"{self.t('state_' + draft.state.value)}")
        self.next_state.options = [(self.t(f"state_{s.value}"), s.value) for s in sorted(draft.state.next_states)]
        self.comments.value = "".join(f"<div><b>{html.escape(c.author)}</b> · {c.at[:16].replace('T', ' ')}: "
                                      f"{html.escape(c.text)}</div>" for c in draft.comments)
        if self._shown != (draft.id, len(draft.copy_versions), len(draft.prompt_versions)):  # keep typing alone
            self._shown = (draft.id, len(draft.copy_versions), len(draft.prompt_versions))
            self.history_copy.value = draft.copy.text
            self.history_prompt.value, self.history_negative.value = draft.prompt.prompt, draft.prompt.negative_prompt

    def _history_action(self, action, value) -> None:
        """A review change or a comment on the selected draft; refused ones say why."""
        try:
            action(self.drafts.value, value, self.author)
        except CoreError as error:
            return self._history_error(error)
        self.comment.value = ""
        self.history_status.value = ""
        self.refresh_history()

    def _history_error(self, error: CoreError) -> None:
        self.history_status.value = f"<div class='studio-bad'>{html.escape(error.text(self.language))}</div>"

    def refresh_history(self) -> None:
        """The newest drafts of the team's history, the same store every face uses: the most recent as cards with
        their newest image, all of them in the list below."""
        drafts = self.store.list_drafts()[:200]
        if self.store.skipped:  # one damaged record costs its own line, never the tab
            said = html.escape(skipped_text(self.store.skipped, self.language))
            self.history_status.value = f"<div class='studio-bad'>{said}</div>"
        selected = self.drafts.value
        self.drafts.options = [(f"{draft_label(d, self.language)} · {self.t('state_' + d.state.value)}", d.id)
                               for d in drafts]
        if selected in {d.id for d in drafts}:
            self.drafts.value = selected
        self.recent.children = tuple(self._draft_card(d) for d in drafts[:RECENT_CARDS])
        self.show_selected()

    def _draft_card(self, draft) -> w.Widget:
        """A recent draft as a card: its newest image small, its product and state, a button that selects it."""
        newest = draft.image_versions[-1] if draft.image_versions else None
        path = self.store.image_path(newest.file) if newest else None
        picture = w.HTML(f"<div class='studio-note' style='width:{THUMB_PX}px;height:{THUMB_PX}px'></div>")
        if path is not None and path.exists():
            picture = w.Image(value=thumbnail(path), format="png", layout=w.Layout(width=f"{THUMB_PX}px"))
        select = w.Button(description=draft.brief.product[:18], tooltip=draft.brief.product,
                          layout=w.Layout(width=f"{THUMB_PX}px"))
        select.on_click(lambda _: setattr(self.drafts, "value", draft.id))
        state = w.HTML(f"<div class='studio-note'>{html.escape(self.t('state_' + draft.state.value))}</div>")
        return w.VBox([picture, select, state], layout=w.Layout(margin="0 8px 8px 0"))

    def open_draft(self, draft_id: str | None) -> None:
        """Put a saved draft in the generate tab: its brief, newest copy and prompt, and its images."""
        if not draft_id:
            return
        try:
            draft = self.store.get(draft_id)
        except CoreError as error:
            return self._error(error)
        self.draft_id, self.brief, self.copy_base = draft.id, draft.brief, draft.copy.n
        self.copy.value, self.prompt.value, self.negative.value = draft.copy.text, draft.prompt.prompt, \
            draft.prompt.negative_prompt
        self.images = [(v.file, v.seed) for v in reversed(draft.image_versions)]
        self.gallery.children = tuple(self._image_card(name, seed) for name, seed in self.images
                                      if self.store.image_path(name).exists())
        self.result_box.layout.display = "flex"
        self.notes.value = ""
        self._show_rules()
        self.widget.selected_index = 0

    def export(self, folder: Path) -> Path | None:
        """The selected draft as a ZIP (copy, images, manifests) written into folder; returns its path."""
        if not self.drafts.value:
            return None
        draft = self.store.get(self.drafts.value)
        data = export_zip(self.store, [draft.id], self.language)
        path = Path(folder) / f"{file_stem(draft.brief.product)}-{draft.id[-8:]}.zip"
        atomic_write(path, lambda handle: handle.write(data))
        self.history_status.value = f"<div class='studio-ok'>{html.escape(str(path))}</div>"
        return path


@lru_cache(maxsize=4 * RECENT_CARDS)
def thumbnail(path: Path) -> bytes:
    """A small PNG of an image file, decoded once: image files are named by new ids and never rewritten, and the
    recent cards are redrawn after every history action."""
    with Image.open(path) as image:
        small = image.convert("RGB")
    small.thumbnail((THUMB_PX, THUMB_PX))
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    return buffer.getvalue()


def uploaded_files(value) -> list[tuple[str, bytes]]:
    """A FileUpload's files as (name, bytes): ipywidgets 7 gives a dict by name, 8 a tuple of dicts."""
    if isinstance(value, dict):
        return [(name, bytes(item["content"])) for name, item in value.items()]
    return [(item["name"], bytes(item["content"])) for item in value or ()]


def open_studio(author: str, language: str = "pt-BR") -> NotebookStudio:
    """The notebook studio for author, in the interface language; show it as a cell's last expression."""
    return NotebookStudio(author, language)

