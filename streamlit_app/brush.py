"""A brush to paint the region an edit repaints, over a preview of the image: a small component on Streamlit's
own components API (v2). The strokes come back as a black-and-white PNG at the preview's size; core scales it to
the image and checks it like any mask."""
from __future__ import annotations

import base64
import io

import streamlit as st
from PIL import Image

from core.errors import SettingsError
from core.image.uploads import read_image

PREVIEW = 512  # the longer side of the canvas, in pixels
DATA_URL = "data:image/png;base64,"

CSS = """
.brush { display: flex; flex-direction: column; gap: .4rem; font-family: var(--st-font, sans-serif); }
.brush .stack { position: relative; line-height: 0; align-self: flex-start; }
.brush canvas { border-radius: .4rem; }
.brush canvas.paint { position: absolute; left: 0; top: 0; cursor: crosshair; touch-action: none; }
.brush .tools { display: flex; gap: .8rem; align-items: center; color: var(--st-text-color, inherit); }
.brush button { background: transparent; color: inherit; border: 1px solid rgba(128,128,128,.6);
                border-radius: .4rem; padding: .2rem .8rem; cursor: pointer; }
"""

JS = """
export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let root = parentElement.querySelector(".brush");
  if (root && root.dataset.image === data.image) {  // the same picture: keep what was painted
    return;
  }
  if (root) { root.remove(); }
  root = document.createElement("div");
  root.className = "brush";
  root.dataset.image = data.image;
  root.innerHTML = `<div class="stack"><canvas class="photo"></canvas><canvas class="paint"
    aria-label="${data.label}"></canvas></div>
    <div class="tools"><label>${data.size_label} <input type="range" min="8" max="120" value="40"></label>
    <button type="button">${data.clear_label}</button></div>`;
  parentElement.appendChild(root);
  const [photo, paint] = root.querySelectorAll("canvas");
  const sizeInput = root.querySelector("input");
  const mask = document.createElement("canvas");  // the record: white strokes on black
  for (const canvas of [photo, paint, mask]) { canvas.width = data.width; canvas.height = data.height; }
  const picture = new Image();
  picture.onload = () => photo.getContext("2d").drawImage(picture, 0, 0, data.width, data.height);
  picture.src = data.image;
  const shown = paint.getContext("2d"), kept = mask.getContext("2d");
  const clear = () => {
    shown.clearRect(0, 0, data.width, data.height);
    kept.fillStyle = "#000"; kept.fillRect(0, 0, data.width, data.height);
  };
  clear();
  let last = null;
  const point = (event) => {
    const box = paint.getBoundingClientRect();
    return [(event.clientX - box.left) * data.width / box.width, (event.clientY - box.top) * data.height / box.height];
  };
  const stroke = (from, to) => {
    for (const [context, colour] of [[shown, "rgba(230, 30, 30, 0.55)"], [kept, "#fff"]]) {
      context.strokeStyle = colour; context.lineWidth = Number(sizeInput.value);
      context.lineCap = "round"; context.lineJoin = "round";
      context.beginPath(); context.moveTo(...from); context.lineTo(...to); context.stroke();
    }
  };
  paint.addEventListener("pointerdown", (event) => {
    paint.setPointerCapture(event.pointerId); last = point(event); stroke(last, last);
  });
  paint.addEventListener("pointermove", (event) => {
    if (last === null) { return; }
    const next = point(event); stroke(last, next); last = next;
  });
  const finish = () => {
    if (last === null) { return; }
    last = null; setStateValue("mask", mask.toDataURL("image/png"));
  };
  paint.addEventListener("pointerup", finish);
  paint.addEventListener("pointercancel", finish);
  root.querySelector("button").addEventListener("click", () => { clear(); setStateValue("mask", ""); });
}
"""

_component = st.components.v2.component("content_studio_brush", css=CSS, js=JS)


def brush_mask(key: str, image: Image.Image, labels: dict[str, str]) -> Image.Image | None:
    """Show the brush over image; the strokes painted so far as an L mask at the preview's size (None before any).
    A value that is not a sound PNG (a hostile client can send anything) is a SettingsError naming the mask."""
    preview = image.convert("RGB")
    preview.thumbnail((PREVIEW, PREVIEW))
    buffer = io.BytesIO()
    preview.save(buffer, format="PNG")
    result = _component(key=key, data={"image": DATA_URL + base64.b64encode(buffer.getvalue()).decode("ascii"),
                                       "width": preview.width, "height": preview.height, **labels},
                        default={"mask": ""}, on_mask_change=lambda: None)
    painted = result.get("mask") or ""
    if not painted:
        return None
    if not isinstance(painted, str) or not painted.startswith(DATA_URL):
        raise SettingsError("mask", "?", "not_an_image", allowed="PNG")
    try:
        data = base64.b64decode(painted[len(DATA_URL):], validate=True)
    except ValueError:
        raise SettingsError("mask", "?", "not_an_image", allowed="PNG") from None
    return read_image(data, "mask", "mask.png").convert("L")
