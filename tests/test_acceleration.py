"""Compiling beside the lane: a server serves with the eager modules at once, compiled modules are warmed in another
thread while renders go on, and they serve only from the render after they are published (never under an offload
policy, never after a failed compile). The compiler here is dynamo with a backend that runs the traced graph as it
is: real tracing and guards, without inductor's minutes on the CPU."""
import threading
import time

import numpy as np
import pytest
import torch

from core.compile_cache import CompileCache
from core.errors import SettingsError
from core.image.placement import MemoryPolicy
from core.image.sdxl import COMPILED_SHAPES, WARM_SHAPE
from core.image.settings import SDXL_SIZES, ImageSettings
from core.profiles import load_images
from core.studio.acceleration import Acceleration, Stage
from core.studio.worker import GPUWorker

PROMPT = "a cup of coffee on a wooden table"
WARM = ImageSettings(steps=3, seed=5)  # 1024x1024 with guidance: the shape the compiled modules are warmed for


class Compiler:
    """torch.compile with a backend that records each graph it is handed and runs it unchanged."""

    def __init__(self, fail: bool = False, fail_size: tuple[int, int] | None = None):
        self.compiled: list[set] = []  # for every graph compiled, the (height, width) of its image-like inputs
        self.calls = 0  # calls into compiled graphs
        self.fail = fail
        self.fail_size = fail_size  # (width, height): graphs for that size fail to compile

    def backend(self, graph, example_inputs):
        sizes = {tuple(t.shape[-2:]) for t in example_inputs if isinstance(t, torch.Tensor) and t.dim() == 4}
        if self.fail or (self.fail_size and latents_of(*self.fail_size) in sizes):
            raise RuntimeError("no compiler here")
        self.compiled.append(sizes)

        def run(*args):
            self.calls += 1
            return graph.forward(*args)
        return run

    def plan(self, model, shapes: tuple = (WARM_SHAPE,), every_module: bool = False) -> None:
        """What accelerate(later=True) plans on a GPU, with this backend; shapes: the sizes to compile (the product
        compiles all five; most tests need only the first). The product compiles both UNets and the VAE decoder
        (every_module); where the order, the waiting or a failure is what a test checks, the base UNet alone
        stands for them (the others "compiled" as themselves), a third of the tracing."""
        model._plan({key: (eager, self.compile if every_module or key == (model.base, "unet") else as_it_is)
                     for key, (eager, _) in model._compile_recipe().items()}, shapes)

    def graphs_at(self, width: int, height: int) -> int:
        """How many graphs were compiled for an image of that size (with every module, both UNets' and the VAE
        decoder's: 3)."""
        return sum(latents_of(width, height) in sizes for sizes in self.compiled)

    def compile(self, module):
        return torch.compile(module, backend=self.backend, dynamic=False)


def as_it_is(module):
    return module


def latents_of(width: int, height: int) -> tuple[int, int]:
    return height // 8, width // 8


@pytest.fixture
def model(tiny_profile):
    torch._dynamo.reset()
    return load_images(tiny_profile)  # its own instance: the shared one stays as it is


def fast_refused_for_compiling(model) -> bool:
    reason = model.fast_unavailable()
    return reason is not None and reason.code == "fast_compiled"


def pixels(result) -> np.ndarray:
    return np.asarray(result[0].image)


def test_planned_modules_serve_only_after_they_are_warmed_and_published(model):
    compiler = Compiler()
    eager_image = pixels(model.render(PROMPT, "", WARM))
    compiler.plan(model, every_module=True)
    assert model.compile_pending and fast_refused_for_compiling(model)
    with pytest.raises(SettingsError):  # a LoRA loaded now would change the modules being compiled
        model.prepare_fast()
    # 1. planned, not published: renders stay eager
    model.render(PROMPT, "", WARM)
    assert compiler.calls == 0 and model.base.unet is model._planned[(model.base, "unet")][0]
    # 2. warmed in another thread while the lane renders (each on pipelines of its own)
    published: list[bool] = []
    warming = threading.Thread(target=lambda: published.append(model.compile_planned()))
    warming.start()
    during = [pixels(model.render(PROMPT, "", WARM)) for _ in range(2)]
    warming.join(300)
    assert published == [True] and not model.compile_pending
    assert len(compiler.compiled) == 3  # base UNet, refiner UNet, VAE decoder: once each, at the warm shape
    assert all(np.array_equal(image, eager_image) for image in during)  # the lane's renders were untouched
    # 3. the next render at the warm shape runs the compiled modules, with nothing compiled again
    calls = compiler.calls
    assert np.array_equal(pixels(model.render(PROMPT, "", WARM)), eager_image)
    assert compiler.calls > calls and len(compiler.compiled) == 3
    # 4. other sizes keep the eager modules
    calls = compiler.calls
    model.render(PROMPT, "", ImageSettings(width=1152, height=896, steps=2, seed=5))
    assert compiler.calls == calls and len(compiler.compiled) == 3


def test_an_offload_policy_taken_meanwhile_drops_what_was_planned(model):
    compiler = Compiler()
    compiler.plan(model, COMPILED_SHAPES, every_module=True)
    model.place(MemoryPolicy.MODEL_OFFLOAD)  # e.g. the lane ran out of memory: compiled modules assume resident ones
    assert not model.compile_pending and model.compile_planned() is False and model.next_size() is None
    model.render(PROMPT, "", WARM)
    assert compiler.calls == 0 and not model.warm_shapes
    assert not fast_refused_for_compiling(model)


def test_a_failed_compile_leaves_the_eager_modules_serving(model):
    compiler = Compiler(fail=True)
    eager_image = pixels(model.render(PROMPT, "", WARM))
    compiler.plan(model, every_module=True)
    assert model.compile_planned() is False
    assert not model.compile_pending and not model.warm_shapes
    assert np.array_equal(pixels(model.render(PROMPT, "", WARM)), eager_image)
    assert not fast_refused_for_compiling(model)


def at(width: int, height: int, steps: int = 2) -> ImageSettings:
    return ImageSettings(width=width, height=height, steps=steps, seed=5)


def test_every_size_is_compiled_beside_the_lane_after_1024(model, tmp_path):
    """While the lane serves: 1024x1024 first, then the four other sizes, each published with graphs of its own
    (dynamo keeps all ten UNet graphs: base and refiner run the same forward code, past its default of 8 per code);
    every size then renders through the compiled modules with the eager modules' pixels."""
    compiler, worker = Compiler(), GPUWorker("test-lane")
    eager = {size: pixels(model.render(PROMPT, "", at(*size))) for size in SDXL_SIZES}
    compiler.plan(model, COMPILED_SHAPES, every_module=True)
    acceleration = Acceleration(worker, CompileCache(tmp_path), None, model)
    assert acceleration.stage is Stage.COMPILING_IMAGES and acceleration.pending
    acceleration.start()
    render = worker.submit(lambda job: model.render(PROMPT, "", at(1024, 1024)), "render", "Ana")  # served meanwhile
    assert worker.wait(render, 300) and np.array_equal(pixels(render.result), eager[(1024, 1024)]), render.error
    stages = set()
    while not acceleration.wait(0.05):
        stages.add(acceleration.stage)
    assert Stage.COMPILING_SIZES in stages  # what the sidebar says while the other sizes compile
    sizes = [f"images {width}x{height}" for width, height in SDXL_SIZES[1:]]
    assert acceleration.applied == ["images", *sizes] and not acceleration.failed
    assert acceleration.stage is Stage.DONE and set(acceleration.seconds) == {"images", *sizes}
    assert model.warm_shapes == set(COMPILED_SHAPES)
    assert [compiler.graphs_at(*size) for size in SDXL_SIZES] == [3] * 5, compiler.compiled
    graphs = len(compiler.compiled)
    for size in SDXL_SIZES:
        calls = compiler.calls
        job = worker.submit(lambda job: model.render(PROMPT, "", at(*size)), "render", "Ana")
        assert worker.wait(job, 300) and np.array_equal(pixels(job.result), eager[size]), job.error
        assert compiler.calls > calls, size
    assert len(compiler.compiled) == graphs  # nothing compiled again on the lane


class CacheOfAnEarlierStart(CompileCache):
    """The real cache, as a restart finds it once an earlier start saved the sizes named (their kernels are not in
    it: the compiler here makes none)."""

    def __init__(self, folder, earlier: set[str]):
        super().__init__(folder)
        self.earlier = earlier

    def restore(self) -> int:
        restored = super().restore()
        self.holds |= self.earlier
        return restored


def test_a_restart_compiles_the_sizes_its_cache_holds_before_the_others(model, tmp_path):
    """A size in the cache comes back in seconds, one not in it takes minutes: after 1024x1024, the cached ones
    first, so a restart serves them all long before the first new size is compiled."""
    compiler = Compiler()
    compiler.plan(model, (WARM_SHAPE, (896, 1152, True), (1152, 896, True), (1344, 768, True)))
    cache = CacheOfAnEarlierStart(tmp_path, {"images", "images 1344x768"})
    acceleration = Acceleration(GPUWorker("test-lane"), cache, None, model).start()
    assert acceleration.wait(300)
    assert acceleration.applied == ["images", "images 1344x768", "images 896x1152", "images 1152x896"]


def test_a_size_rendered_before_its_turn_goes_next_and_one_that_fails_stays_eager(model):
    compiler = Compiler(fail_size=(896, 1152))
    tall, wide = at(896, 1152), at(1344, 768)  # the first and the last in line
    eager_tall = pixels(model.render(PROMPT, "", tall))
    compiler.plan(model, COMPILED_SHAPES)
    assert model.compile_planned()
    model.render(PROMPT, "", wide)  # on the eager modules meanwhile
    assert compiler.graphs_at(1344, 768) == 0
    assert model.next_size() == (1344, 768, True) and model.compile_size((1344, 768, True))
    calls = compiler.calls
    model.render(PROMPT, "", wide)
    assert compiler.calls > calls and compiler.graphs_at(1344, 768) == 1
    # a size whose compile fails is not published: it renders on the eager modules, nothing compiled on the lane
    assert model.next_size() == (896, 1152, True) and not model.compile_size((896, 1152, True))
    calls, graphs = compiler.calls, len(compiler.compiled)
    assert np.array_equal(pixels(model.render(PROMPT, "", tall)), eager_tall)
    assert compiler.calls == calls and len(compiler.compiled) == graphs
    assert model.warm_shapes == {WARM_SHAPE, (1344, 768, True)}
    rest = []
    while (shape := model.next_size()) is not None:  # the failed one is not tried again
        rest.append(shape)
    assert rest == [(1152, 896, True), (768, 1344, True)]


def test_the_acceleration_reports_a_failed_size_and_goes_on(model, tmp_path):
    compiler = Compiler(fail_size=(896, 1152))
    compiler.plan(model, (WARM_SHAPE, (896, 1152, True)))
    acceleration = Acceleration(GPUWorker("test-lane"), CompileCache(tmp_path), None, model).start()
    assert acceleration.wait(300)
    assert acceleration.applied == ["images"] and acceleration.failed == ["images 896x1152"]


class WatchedCache(CompileCache):
    """The real cache, noting which thread restores it."""

    def __init__(self, folder):
        super().__init__(folder)
        self.restored_by: list[str] = []

    def restore(self) -> int:
        self.restored_by.append(threading.current_thread().name)
        return super().restore()


def test_what_an_earlier_start_compiled_is_read_beside_the_lane(model, tmp_path):
    """A server restores the compile cache in the compiling thread, not on the way to its first job."""
    compiler, cache = Compiler(), WatchedCache(tmp_path)
    compiler.plan(model)
    assert Acceleration(GPUWorker("test-lane"), cache, None, model).start().wait(300)
    assert cache.restored_by == ["accelerate"]


def test_nothing_to_compile_is_done_at_once(tiny_images, tmp_path):
    acceleration = Acceleration(GPUWorker("test-lane"), CompileCache(tmp_path), None, tiny_images).start()
    assert acceleration.wait(1) and acceleration.stage is Stage.DONE and acceleration.applied == []


def test_a_compile_waits_while_the_lane_runs_a_job(model, tmp_path):
    compiler, worker = Compiler(), GPUWorker("test-lane")
    compiler.plan(model)
    started, seen = threading.Event(), {}

    def teammates_job(job):  # holds the lane while the compile would have traced its first graph (seconds)
        started.set()
        until = time.monotonic() + 10
        while not compiler.compiled and time.monotonic() < until:
            time.sleep(0.05)
        seen["compiled"] = list(compiler.compiled)

    busy = worker.submit(teammates_job, "render", "Ana")
    assert started.wait(10)
    acceleration = Acceleration(worker, CompileCache(tmp_path), None, model).start()
    assert worker.wait(busy, 60)
    assert seen["compiled"] == []  # nothing compiled while the lane was busy
    assert acceleration.wait(300) and acceleration.applied == ["images"] and len(compiler.compiled) == 1
