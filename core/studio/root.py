"""The composition root: one Studio per process holds the profile, the engines (loaded on first use), the one
GPU worker and the history store. Every face asks get_studio() for it, so no face builds a second of anything."""
from __future__ import annotations

import threading

from core import devices
from core.compile_cache import FOLDER as COMPILE_CACHE, CompileCache
from core.files import model_label
from core.content import language
from core.content.brief import Brief
from core.content.clip_tokens import clip_tokenizer
from core.image.sdxl import ImageModel
from core.image.settings import ImageSettings
from core.messages import Message
from core.profiles import Environment, load_images, load_text, resolve_profile
from core.studio.acceleration import Acceleration
from core.studio.access import AccessGuard, LoginTokens
from core.studio.batch import Batches, run_batch
from core.studio.history import HistoryStore
from core.studio.jobs import edit_images, render_images, render_storyboard, write_post
from core.studio.progress import Progress
from core.studio.variants import check_variants, make_variants
from core.studio.worker import GPUWorker, Job
from core.text.engine import SamplingSettings
from core.text.engine import TextEngine


class Studio:
    """Everything a process shares between its users. Built once by get_studio(); never rebuilt by a face."""

    def __init__(self, environment: Environment, device: str | None = None):
        self.environment = environment
        self.profile = resolve_profile(env=environment, device=device)
        self.store = HistoryStore(environment.data_dir)
        # parse the history in the background, so the first history page is served from memory
        threading.Thread(target=self.store.list_drafts, name="history-warm-up", daemon=True).start()
        self.worker = GPUWorker()  # the GPU lane: every job that touches the local models, one at a time
        # copy from a model server has a lane of its own, so drafts never wait behind a render here
        self.text_lane = GPUWorker("text-server", concurrency=self.profile.server.concurrency) \
            if self.profile.server else self.worker
        self.access = AccessGuard()  # failed password guesses, for every session of the process
        self.logins = LoginTokens(environment.data_dir)  # sign-ins that survive a reload
        # compiled kernels live with the data (a Drive folder on Colab), so the next start skips the compiling
        self.compile_cache = CompileCache(environment.data_dir / COMPILE_CACHE)
        # one lock per engine: a draft from a server never waits while SDXL loads for minutes
        self._text_loading, self._image_loading = threading.Lock(), threading.Lock()
        self._warming = threading.Lock()
        self._text: TextEngine | None = None
        self._image: ImageModel | None = None
        self._warmup: Job | None = None
        # a server (preload) serves with the plain paths as soon as the models load, and compiles beside its lane
        self._compile_later = False
        self.acceleration: Acceleration | None = None
        self._checks: threading.Thread | None = None

    # -- engines, loaded on first use (on the worker thread, one job at a time) -----------------------------
    def text_model(self, progress: Progress | None = None) -> TextEngine:
        """The profile's text engine (a checked model server, or the local model), loaded on the first call; a
        job's progress says so while it loads."""
        if self._text is None and progress is not None:
            progress.enter("loading_text")
        with self._text_loading:
            if self._text is None:
                self._text = self._compiled(lambda: load_text(self.profile, _downloads(progress, "loading_text"),
                                                              self._compile_later))
            return self._text

    def image_model(self, progress: Progress | None = None) -> ImageModel:
        """The profile's SDXL base + refiner, loaded on the first call; a job's progress says so while they load."""
        if self._image is None and progress is not None:
            progress.enter("loading_images")
        with self._image_loading:
            if self._image is None:
                self._image = self._compiled(lambda: load_images(self.profile,
                                                                 _downloads(progress, "loading_images"),
                                                                 self._compile_later))
            return self._image

    def _compiled(self, load):
        """load(), with what an earlier start compiled loaded first and what this one compiled saved after; a
        server that compiles beside its lane (preload) does both there instead, off the way to its first job."""
        if self._compile_later:
            return load()
        self.compile_cache.restore()
        model = load()
        self.compile_cache.save()
        return model

    def for_one_job(self) -> None:
        """Load the models as a process that runs one job and ends needs them (the command line's generate and
        edit): their plain paths at once, nothing compiled and no compile cache read, since a few renders never pay
        back the minutes of compiling (about 3 minutes for SDXL on an H100, for 1.4 s saved per render; edits never
        use the compiled graphs). The int4 weights a load quantizes are kept for store_weights()."""
        self._compile_later = True

    def install(self, text: TextEngine | None = None, image: ImageModel | None = None) -> None:
        """Use engines loaded elsewhere (a notebook that already holds them, a test's subclass) instead of
        loading the profile's."""
        with self._text_loading, self._image_loading:
            self._text = text or self._text
            self._image = image or self._image

    def fast_unavailable(self) -> Message | None:
        """Why the fast mode cannot run in this studio, or None: the loaded image model's answer, or before it
        loads, whether the profile names a few-step LoRA."""
        if self._image is not None:
            return self._image.fast_unavailable()
        return None if self.profile.image.fast_lora else Message("fast_no_lora")

    def loaded_text_model(self) -> TextEngine | None:
        """The text model if it is loaded, without loading it."""
        return self._text

    def loaded_models(self) -> list[str]:
        """Names of the models loaded so far, for the sidebar."""
        names = [self._text.name] if self._text else []
        if self._image:
            where = self._image.policy.value if self._image.device.startswith("cuda") else self._image.device
            names.append(f"SDXL ({where})")
        return names

    def warm_checks(self) -> threading.Thread:
        """Read the copy checks' language models and the CLIP tokenizer once, in a background thread, so the first
        draft does not pay for them on its way (about 0.6 s on a laptop's CPU)."""
        with self._warming:
            if self._checks is None:
                self._checks = threading.Thread(target=lambda: (language.warm_up(), clip_tokenizer()),
                                                name="warm-checks", daemon=True)
                self._checks.start()
            return self._checks

    @property
    def loads_at_start(self) -> bool:
        """Whether preload() loads the models at once: the full profile, whose first load takes minutes."""
        return self.profile.name == "full"

    @property
    def warming_up(self) -> Job | None:
        """The models' first load (preload's job) while it runs, for a face to show how far it has come."""
        warmup = self._warmup
        return warmup if warmup is not None and not warmup.done else None

    def preload(self) -> Job | None:
        """Where the models load at start (the full profile), load both on the worker once, as soon as a server or
        a notebook starts, then compile them beside the worker (self.acceleration) while they already serve, so
        nobody waits minutes for a compile; with every profile, warm the checks."""
        self.warm_checks()
        with self._warming:  # not a loading lock: every page asks, and must not wait while a model loads
            if not self.loads_at_start or self._warmup is not None:
                return self._warmup
            self._compile_later = True
            self._warmup = self.worker.submit(self._load_and_accelerate, "warmup", "server")
            return self._warmup

    def _load_and_accelerate(self, job: Job) -> None:
        text, image = self.text_model(job), self.image_model(job)
        text.store_weights()  # for the next start; not before, so SDXL's loading does not share the disk with it
        self.acceleration = Acceleration(self.worker, self.compile_cache, text, image).start()

    def lane_of(self, job_id: str) -> tuple[GPUWorker, Job] | None:
        """The lane holding a job, and the job, or None once it is forgotten (or the server restarted)."""
        for lane in {id(l): l for l in (self.worker, self.text_lane)}.values():
            if (job := lane.get(job_id)) is not None:
                return lane, job
        return None

    def facts(self) -> dict:
        """Profile, device, text engine and memory in use, for the sidebar."""
        return {"profile": self.profile.name, "device": self.profile.device,
                "text_engine": self.profile.describe()["text_model"] if self.profile.server else "local",
                "vram_gib": devices.vram_in_use_gib(self.profile.device), "test_images": self.profile.test_images,
                # the demo profiles' own text model writes nonsense: every face says so
                "demo_text": self.profile.name != "full" and self.profile.server is None,
                "text_model": self.profile.text.gguf_file or model_label(self.profile.text.source),
                # what is being compiled beside the lane meanwhile ("compiling_text", "compiling_images",
                # "compiling_sizes"), or None
                "accelerating": self.acceleration.stage.value if self.acceleration and self.acceleration.pending
                else None}

    # -- the post flow, queued on the one worker -------------------------------------------------------------
    def write(self, brief: Brief, author: str, owner: str,
              sampling: SamplingSettings = SamplingSettings()) -> Job:
        """Queue the writing of a draft for brief; the job's result is a WriteResult."""
        return self.text_lane.submit(lambda job: write_post(job, brief, lambda: self.text_model(job), self.store,
                                                            author, sampling), "write", owner)

    def render(self, draft_id: str, prompt: str, negative_prompt: str, settings: ImageSettings, author: str,
               owner: str) -> Job:
        """Queue the rendering of a draft's images; the job's result is a RenderResult (the images saved off the
        GPU lane, which starts the next job meanwhile)."""
        return self.worker.submit(lambda job: render_images(job, draft_id, prompt, negative_prompt, settings,
                                                            lambda: self.image_model(job), self.store, author,
                                                            self.loaded_text_model()), "render", owner)

    def edit(self, draft_id: str, parent: int, kind: str, prompt: str, negative_prompt: str,
             settings: ImageSettings, author: str, owner: str, **edit) -> Job:
        """Queue an edit of image version parent (strength, mask or target in edit); the result is a
        RenderResult."""
        return self.worker.submit(lambda job: edit_images(job, draft_id, parent, kind, prompt, negative_prompt,
                                                          settings, lambda: self.image_model(job), self.store,
                                                          author, self.loaded_text_model(), **edit), "edit", owner)


    def storyboard(self, draft_id: str, settings: ImageSettings, author: str, owner: str) -> Job:
        """Queue an image per scene of a video script draft (core.studio.jobs.render_storyboard)."""
        return self.worker.submit(lambda job: render_storyboard(job, draft_id, settings,
                                                                lambda: self.text_model(job),
                                                                lambda: self.image_model(job), self.store, author),
                                  "storyboard", owner)

    def variants(self, brief: Brief, angles: list[str], images: int, settings: ImageSettings, author: str,
                 owner: str) -> Job:
        """Queue a variant set (core.studio.variants): a draft per angle with its images; the result is a
        VariantsResult. Bad angles or counts are refused here, before anything is queued."""
        check_variants(angles, images)
        return self.worker.submit(lambda job: make_variants(job, brief, angles, images, settings,
                                                            lambda: self.text_model(job),
                                                            lambda: self.image_model(job), self.store, author),
                                  "variants", owner)

    def batch(self, batch_id: str, author: str, owner: str, settings: ImageSettings = ImageSettings()) -> Job:
        """Queue the rest of a catalog batch (core.studio.batch): each item written, and rendered where the batch
        asks, saved as it finishes; the result is the Batch."""
        return self.worker.submit(lambda job: run_batch(job, Batches(self.store), batch_id,
                                                        lambda: self.text_model(job), lambda: self.image_model(job),
                                                        author, settings), "batch", owner)


_studios: dict[Environment, Studio] = {}
_building = threading.Lock()


def get_studio(environment: Environment | None = None) -> Studio:
    """The process's Studio for the environment (default: read from os.environ), built on the first call.

    A deployment has one environment, so one Studio; whatever a browser sends, asking again returns it."""
    environment = environment or Environment.read()
    with _building:
        if environment not in _studios:
            _studios[environment] = Studio(environment)
        return _studios[environment]


def _downloads(progress: Progress | None, then: str):
    """A reporter showing a model's download on progress, which goes back to the loading phase once the files
    are all in; None without a progress to show it on."""
    if progress is None:
        return None

    def report(status) -> None:
        if status.done < status.total:
            progress.show_download(status)
        else:
            progress.enter(then)
    return report
