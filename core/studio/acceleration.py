"""The compiled paths, built beside the GPU lane once the models serve: a server takes jobs as soon as its models are
loaded (the plain paths, a few seconds slower per post), while a background thread compiles the decoding step and
the SDXL modules (the minutes) and each compiled path replaces its plain one between two jobs."""
from __future__ import annotations

import logging
import threading
import time
from enum import Enum

from core.compile_cache import CompileCache
from core.image.sdxl import COMPILED_SHAPES, WARM_SHAPE, ImageModel
from core.studio.beside_lane import GRANT_S, PATIENCE_S, only_while_idle
from core.studio.worker import GPUWorker
from core.text.engine import TextEngine
from core.text.local import TextModel

log = logging.getLogger(__name__)


class Stage(str, Enum):
    COMPILING_TEXT = "compiling_text"
    COMPILING_IMAGES = "compiling_images"
    COMPILING_SIZES = "compiling_sizes"  # 1024x1024 compiled; the other sizes one by one
    DONE = "done"


class Acceleration:
    """One background run over the loaded engines: the text model's compiled decoding step, then SDXL's compiled
    UNets and VAE decoder at 1024x1024, then at every other size (the one a teammate asked for first), the compile
    cache saved after each (so the next start restores them). Each compiled size records its CUDA graphs in a
    short render on the lane, so no teammate's first render at that size pays for them."""

    def __init__(self, worker: GPUWorker, compile_cache: CompileCache, text: TextEngine | None,
                 image: ImageModel | None, patience_s: float = PATIENCE_S, grant_s: float = GRANT_S):
        self.worker = worker
        self.patience_s, self.grant_s = patience_s, grant_s
        self.compile_cache = compile_cache
        self.text = text if isinstance(text, TextModel) and text.compile_pending else None
        self.image = image if image is not None and image.compile_pending else None
        self.stage = Stage.COMPILING_TEXT if self.text else Stage.COMPILING_IMAGES if self.image else Stage.DONE
        self.applied: list[str] = []  # "text", "images", "images 896x1152"...: the compiled paths now serving
        self.failed: list[str] = []  # the ones that stay on the plain path
        self.seconds: dict[str, float] = {}  # how long each took, for the benchmark and the log
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> bool:
        return self.stage is not Stage.DONE

    def start(self) -> "Acceleration":
        if self.pending and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="accelerate", daemon=True)
            self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every compiled path is in (or failed); whether it finished within timeout."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.pending

    def _run(self) -> None:
        try:
            with self._while_idle():  # what an earlier start compiled, read before compiling anything
                self.compile_cache.restore()
            if self.image is not None:  # sizes in the cache take seconds each, the others minutes: those first
                self.image.compile_first({shape for shape in COMPILED_SHAPES
                                          if images_name(shape) in self.compile_cache.holds})
            if self.text is not None:
                self._timed("text", self._text)
            self.stage = Stage.COMPILING_IMAGES
            if self.image is not None and self._timed(images_name(WARM_SHAPE), self._images):
                self.stage = Stage.COMPILING_SIZES
                while (shape := self.image.next_size()) is not None:
                    self._timed(images_name(shape), lambda: self._images(shape))
        finally:
            self.stage = Stage.DONE

    def _timed(self, name: str, step) -> bool:
        started = time.perf_counter()
        try:
            ok = step()
        except Exception as error:  # noqa: BLE001 - the plain path goes on serving; the log says why
            log.warning("compiling %s in the background failed: %s: %s", name, type(error).__name__, error,
                        exc_info=True)
            ok = False
        self.seconds[name] = round(time.perf_counter() - started, 1)
        (self.applied if ok else self.failed).append(name)
        if ok:
            self.compile_cache.save(name)
        return ok

    def _while_idle(self):
        return only_while_idle(self.worker.idle, self.worker.busy, self.patience_s, self.grant_s)

    def _text(self) -> bool:
        """The compiled step built here; its CUDA graphs captured on the lane, between two jobs."""
        with self._while_idle():
            decoder = self.text.compile_decoder()
        return decoder is not None and self._on_lane(lambda: self.text.take_decoder(decoder))

    def _images(self, shape: tuple[int, int, bool] | None = None) -> bool:
        """SDXL's compiled modules built here at 1024x1024 (shape None) or one more size; its CUDA graphs recorded
        on the lane, between two jobs."""
        built = self.image.compile_planned(self._while_idle) if shape is None else \
            self.image.compile_size(shape, self._while_idle)
        if built:  # published: a render at that size before the recording records them itself
            self._on_lane(lambda: self.image.record_graphs(shape or WARM_SHAPE))
        return built

    def _on_lane(self, step) -> bool:
        job = self.worker.submit(lambda job: step(), "accelerate", "server")
        self.worker.wait(job)
        return bool(job.result)


def images_name(shape: tuple[int, int, bool]) -> str:
    """What a compiled size is called in applied, failed and the compile cache: "images" for 1024x1024 (the first),
    "images 896x1152" for another."""
    return "images" if shape == WARM_SHAPE else f"images {shape[0]}x{shape[1]}"
