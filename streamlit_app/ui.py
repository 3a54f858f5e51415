"""Helpers the pages share: jobs that disable buttons while they run, errors without tracebacks, rule badges."""
from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

import streamlit as st

from core.content.brief import Brief
from core.content.channels import measure
from core.errors import CoreError
from core.studio.worker import Job, JobState
from streamlit_app import resources
from core.labels import phase_text, rule_label, t

log = logging.getLogger("content_studio")


def lang() -> str:
    return st.session_state.get("ui_language", "pt-BR")


def busy() -> bool:
    """Whether this session has a job queued or running: its buttons are disabled meanwhile."""
    return st.session_state.get("job") is not None


def owner() -> str:
    return st.session_state.setdefault("session_owner", uuid.uuid4().hex)


def submit(kind: str, start: Callable[[str], Job]) -> None:
    """Queue a job with start(owner) (a Studio method); the page watches it with watch(). The job's id goes into
    the page's address too, so a reload (or a reconnecting tunnel) finds the job again."""
    if busy():
        return
    job = start(owner())
    st.session_state["job"] = {"id": job.id, "kind": kind}
    st.query_params["job"] = job.id


def reattach(kinds: tuple[str, ...]) -> bool:
    """After a reload: watch again the job named in the page's address, if it is still known and of one of the
    kinds this page shows. Returns whether it did."""
    job_id = st.query_params.get("job")
    if busy() or not job_id:
        return False
    found = resources.studio().lane_of(job_id)
    if found is None or found[1].label not in kinds:
        del st.query_params["job"]  # finished and read, or from before a restart: its work is in the history
        return False
    st.session_state["job"] = {"id": job_id, "kind": found[1].label}
    return True


def cancel(job_id: str) -> None:
    found = resources.studio().lane_of(job_id)
    if found is not None:
        lane, job = found
        lane.cancel(job)


def watch(appliers: dict[str, Callable[[object], None]]) -> None:
    """Show this session's job (place in queue, progress, live text) until it ends, then apply its result.

    The job saves its own result, so leaving the page or losing the connection loses nothing; coming back
    resumes the watch.
    """
    pending = st.session_state.get("job")
    if not pending or pending["kind"] not in appliers:
        return
    language = lang()
    found = resources.studio().lane_of(pending["id"])
    if found is None:  # the server restarted: the job's saved work is in the history
        st.session_state.pop("job")
        st.query_params.pop("job", None)
        return
    worker, job = found
    with st.container(border=True):
        status = st.empty()
        bar = st.progress(0.0)
        live = st.empty()
        st.button(t(language, "cancel"), key=f"cancel_{job.id}", on_click=cancel, args=(job.id,))
        while not job.done:
            status.info(phase_text(job, worker.position(job), language))
            bar.progress(min(max(job.progress, 0.0), 1.0))
            if job.partial:
                live.text(job.partial)
            job.finished.wait(0.25)
    st.session_state.pop("job")
    st.query_params.pop("job", None)
    worker.forget(job)  # read by its owner: the worker need not keep it
    if job.state is JobState.DONE:
        appliers[pending["kind"]](job.result)
    elif job.state is JobState.CANCELLED:
        st.session_state["notice"] = t(language, "cancelled")
    else:
        st.session_state["error"] = job.failure or job.error
        if pending["kind"] == "write" and job.partial:  # what the server wrote before it stopped
            st.session_state["incomplete_copy"] = job.partial
    st.rerun()


def error_text(error: CoreError | str) -> str:
    """A core error in the interface language; anything else (a crash's summary) with a plain lead-in."""
    if isinstance(error, CoreError):
        return error.text(lang())
    return t(lang(), "unexpected", error=error)


def show_error() -> None:
    """Show and clear the last job's error."""
    error = st.session_state.pop("error", None)
    if error:
        st.error(error_text(error))


def rule_badges(brief: Brief, text: str) -> None:
    """Badges for the channel's rules, measured on the text as it stands (edited by hand or not)."""
    language = lang()
    badges = []
    measures = measure(text, brief)
    for rule in measures:
        badges.append((rule_label(rule, language), rule.ok))
    columns = st.columns(max(len(badges), 1))
    for column, (label, ok) in zip(columns, badges):
        with column:
            st.badge(label, icon=":material/check_circle:" if ok else ":material/warning:",
                     color="green" if ok else "red")
    for violation in (v for rule in measures for v in rule.violations):
        st.caption(f":material/warning: {violation.text(language)}")


def md_escape(text: str) -> str:
    """User text made inert for st.markdown: no links, images, emphasis or HTML from names and products."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~:])", r"\\\1", text)
