"""Helpers the pages share: jobs that disable buttons while they run, errors without tracebacks, rule badges."""
from __future__ import annotations

import logging

import streamlit as st
import torch

from core.brief import Brief
from core.channels import RULES, count_hashtags, x_weighted_length
from core.copywriting import recheck
from core.errors import CoreError
from core.image_generation import ImageSettings, RenderedImage
from streamlit_app import resources
from streamlit_app.strings import t

log = logging.getLogger("content_studio")


def lang() -> str:
    return st.session_state.get("ui_language", "pt-BR")


def busy() -> bool:
    """Whether a job is pending or running in this session: buttons are disabled meanwhile."""
    return st.session_state.get("job") is not None


def request(job: str, **params) -> None:
    """Button callback: queue a job for the end of this run, so the page first redraws with buttons disabled."""
    if not busy():
        st.session_state["job"] = (job, params)


def run_pending(handlers: dict) -> None:
    """Run this session's pending job, if it is one of handlers; report its outcome without a traceback."""
    pending = st.session_state.get("job")
    if not pending or pending[0] not in handlers:
        return
    job, params = pending
    st.info(t(lang(), "busy"))
    try:
        handlers[job](**params)
    except CoreError as error:
        st.session_state["error"] = str(error)
    except torch.OutOfMemoryError:
        st.session_state["error"] = "GPU out of memory; try a smaller size, fewer candidates or an offload policy."
    except Exception as error:  # never show a traceback; keep it in the server log
        log.exception("job %s failed", job)
        st.session_state["error"] = t(lang(), "unexpected", error=f"{type(error).__name__}: {str(error)[:200]}")
    finally:
        st.session_state["job"] = None
    st.rerun()


def show_error() -> None:
    """Show and clear the last job's error."""
    error = st.session_state.pop("error", None)
    if error:
        st.error(error)


def rule_badges(brief: Brief, text: str) -> None:
    """Badges for the channel's rules, measured on the text as it stands (edited by hand or not)."""
    language = lang()
    rules = RULES[brief.content_type]
    draft = recheck(brief, text)
    failing = {v.code for v in draft.violations}
    badges = []
    length = x_weighted_length(text) if rules.weighted_length else len(text.strip())
    if rules.max_chars:
        badges.append((f"{length}/{rules.max_chars} {t(language, 'chars')}", "too_long" not in failing))
    if rules.max_hashtags is not None:
        badges.append((f"{count_hashtags(text)}/{rules.max_hashtags} {t(language, 'hashtags')}",
                       "too_many_hashtags" not in failing))
    if rules.subject_max:
        badges.append((f"{t(language, 'subject')} {len(draft.parts.subject)}/{rules.subject_max}",
                       not failing & {"subject_too_long", "missing_subject"}))
        badges.append((f"{t(language, 'preheader')} {len(draft.parts.preheader)}/{rules.preheader_max}",
                       "preheader_too_long" not in failing))
    if rules.min_scenes:
        badges.append((f"{len(draft.parts.scenes)} {t(language, 'scenes')}",
                       not failing & {"too_few_scenes", "too_many_scenes", "scene_without_visual"}))
    if brief.call_to_action.strip():
        ok = "missing_cta" not in failing
        badges.append((t(language, "cta_present" if ok else "cta_missing"), ok))
    columns = st.columns(max(len(badges), 1))
    for column, (label, ok) in zip(columns, badges):
        with column:
            st.badge(label, icon=":material/check_circle:" if ok else ":material/warning:",
                     color="green" if ok else "red")
    for violation in draft.violations:
        st.caption(f"⚠️ {violation.message}")


def render_images(prompt: str, negative: str, settings: ImageSettings) -> list[RenderedImage]:
    """Render with a per-step progress bar; loads the image models first if needed."""
    language = lang()
    profile = resources.profile()
    with st.status(t(language, "loading_images"), expanded=False):
        model = resources.image_model(profile.name)
    bar = st.progress(0.0, text=t(language, "rendering"))
    rendered = model.render(prompt, negative, settings,
                            on_step=lambda done, total: bar.progress(done / total,
                                                                     text=t(language, "step", done=done, total=total)))
    bar.empty()
    return rendered
