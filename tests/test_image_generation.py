import numpy as np
import torch
import pytest

from core.errors import ModelLoadError, SettingsError
from core.image.placement import MemoryPolicy, choose_memory_policy
from core.image.sdxl import ImageModelSpec, load_image_model
from core.image.settings import ImageSettings, parse_size

PROMPT = "a steaming cup of coffee on a wooden table, morning light"


def test_base_and_refiner_share_encoder_and_vae(tiny_images):
    assert tiny_images.refiner.text_encoder_2 is tiny_images.base.text_encoder_2
    assert tiny_images.refiner.vae is tiny_images.base.vae
    assert tiny_images.refiner.text_encoder is None


def test_renders_the_requested_sdxl_size_with_progress(tiny_images):
    steps = []
    settings = ImageSettings(width=768, height=1344, steps=5, seed=7)
    [result] = tiny_images.render(PROMPT, "blurry", settings, on_step=lambda done, total: steps.append((done, total)))
    assert result.image.size == (768, 1344)
    assert steps[-1] == (5, 5) and len(steps) >= 5
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)
    assert result.test_weights and result.seed == 7


def test_seed_repeats_and_candidates_get_consecutive_seeds(tiny_images):
    settings = ImageSettings(steps=3, seed=11, candidates=2)
    first = tiny_images.render(PROMPT, "", settings)
    again = tiny_images.render(PROMPT, "", ImageSettings(steps=3, seed=11))
    assert [r.seed for r in first] == [11, 12]
    assert np.array_equal(np.asarray(first[0].image), np.asarray(again[0].image))
    assert not np.array_equal(np.asarray(first[0].image), np.asarray(first[1].image))


def test_random_seed_is_drawn_and_reported(tiny_images):
    [result] = tiny_images.render(PROMPT, "", ImageSettings(steps=2, use_refiner=False))
    assert 0 <= result.seed < 2**32


def test_refiner_changes_the_image(tiny_images):
    with_refiner = tiny_images.render(PROMPT, "", ImageSettings(steps=4, seed=5))[0].image
    base_only = tiny_images.render(PROMPT, "", ImageSettings(steps=4, seed=5, use_refiner=False))[0].image
    assert not np.array_equal(np.asarray(with_refiner), np.asarray(base_only))


@pytest.mark.parametrize("kwargs,field", [
    (dict(width=1000, height=1000), "size"), (dict(steps=0), "steps"), (dict(steps=81), "steps"),
    (dict(guidance=25.0), "guidance"), (dict(candidates=5), "candidates"), (dict(seed=-1), "seed"),
    (dict(refiner_switch=0.2), "refiner_switch"), (dict(steps=True), "steps"),
])
def test_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(SettingsError) as caught:
        ImageSettings(**kwargs)
    assert caught.value.field == field


def test_size_text_and_empty_prompt(tiny_images):
    assert parse_size("1344x768") == (1344, 768)
    with pytest.raises(SettingsError, match="size.*1024x1024"):
        parse_size("512x512")
    with pytest.raises(SettingsError, match="prompt must not be empty"):
        tiny_images.render("  ", "", ImageSettings(steps=1))


def test_memory_policy_override_and_cpu_default():
    assert choose_memory_policy("cpu") is MemoryPolicy.GPU
    assert choose_memory_policy("cuda", "model_offload") is MemoryPolicy.MODEL_OFFLOAD
    with pytest.raises(SettingsError, match="memory policy"):
        choose_memory_policy("cuda", "everything")
    assert MemoryPolicy.GPU.more_frugal() is MemoryPolicy.MODEL_OFFLOAD
    assert MemoryPolicy.SEQUENTIAL_OFFLOAD.more_frugal() is None


def test_missing_image_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="could not load the model"):
        load_image_model(ImageModelSpec(str(tmp_path / "none"), None), "cpu")


def test_compiled_unets_serve_only_the_warmed_up_shape(tiny_profile, tiny_images):
    from core.profiles import load_images

    model = load_images(tiny_profile)  # its own instance: the shared one stays as it is
    compiled_shapes = []

    def recording_backend(graph, example_inputs):  # a real dynamo backend that runs the traced graph as it is
        compiled_shapes.append(tuple(example_inputs[0].shape))
        return graph.forward

    eager = model.base.unet
    model._swaps[(model.base, "unet")] = (eager, torch.compile(eager, backend=recording_backend, dynamic=False))
    model.warm_shapes.add((1024, 1024, True))
    model.render("a cup", "", ImageSettings(steps=2, seed=0, use_refiner=False))
    assert compiled_shapes and len(set(compiled_shapes)) == 1  # the compiled UNet ran, for one shape
    seen = len(compiled_shapes)
    for other in (ImageSettings(width=1152, height=896, steps=2, seed=0, use_refiner=False),
                  ImageSettings(steps=2, seed=0, guidance=1.0, use_refiner=False)):  # no guidance: half the batch
        model.render("a cup", "", other)
        assert model.base.unet is eager and len(compiled_shapes) == seen  # eager, and nothing recompiled
    model.place(MemoryPolicy.MODEL_OFFLOAD)  # compiled modules never run under offload hooks
    assert model.base.unet is eager and not model.warm_shapes


class EncoderCalls:
    """Counts the text encoders' runs (CLIP-L and the shared OpenCLIP-bigG) while in a with block."""

    def __init__(self, model):
        self.encoders = [model.base.text_encoder, model.base.text_encoder_2]
        self.count = 0

    def __enter__(self):
        self.hooks = [e.register_forward_hook(lambda *_: setattr(self, "count", self.count + 1)) for e in self.encoders]
        return self

    def __exit__(self, *_):
        for hook in self.hooks:
            hook.remove()


def test_a_prompt_rendered_again_skips_the_text_encoders_and_gives_the_same_image(tiny_images):
    prompt = "a thermos of iced mate on a beach towel, noon sun"  # this test's own: not encoded before
    settings = ImageSettings(steps=2, seed=3)
    with EncoderCalls(tiny_images) as first:
        [rendered] = tiny_images.render(prompt, "blurry", settings)
    image = rendered.image
    assert first.count > 0
    with EncoderCalls(tiny_images) as again:  # a new seed, two candidates: the same prompt three times
        tiny_images.render(prompt, "blurry", ImageSettings(steps=2, seed=4, candidates=2))
        [repeated] = tiny_images.render(prompt, "blurry", settings)
    assert again.count == 0
    assert np.array_equal(np.asarray(repeated.image), np.asarray(image))
    for encodings in tiny_images.encodings:  # encoded afresh, the picture is the same to the pixel
        encodings.forget()
    with EncoderCalls(tiny_images) as fresh:
        [afresh] = tiny_images.render(prompt, "blurry", settings)
    assert fresh.count == first.count
    assert np.array_equal(np.asarray(afresh.image), np.asarray(image))
    with EncoderCalls(tiny_images) as other:  # another negative prompt, or guidance off, is another encoding
        tiny_images.render(prompt, "grainy", settings)
        tiny_images.render(prompt, "blurry", ImageSettings(steps=2, seed=3, guidance=1.0))
    assert other.count > 0


def test_remembered_encodings_keep_the_latest_prompts_only(tiny_images):
    base_encodings = tiny_images.encodings[0]
    for n in range(6):
        tiny_images.render(f"poster number {n}", "", ImageSettings(steps=1, seed=0, use_refiner=False))
    assert len(base_encodings) == 4
    with EncoderCalls(tiny_images) as calls:
        tiny_images.render("poster number 5", "", ImageSettings(steps=1, seed=1, use_refiner=False))
        assert calls.count == 0
        tiny_images.render("poster number 0", "", ImageSettings(steps=1, seed=1, use_refiner=False))  # let go
        assert calls.count > 0


@pytest.mark.parametrize("use_refiner", [True, False])
def test_the_image_has_the_pixels_of_the_pipelines_own_conversion(tiny_images, use_refiner):
    """The studio converts the pipeline's float image to bytes where it was computed (on a GPU, before the copy to
    the host); the pixels are those of diffusers' own "pil" output for the same seed, to the last bit."""
    from core.image.sdxl import label_test_image

    settings = ImageSettings(steps=3, seed=9, use_refiner=use_refiner)
    [rendered] = tiny_images.render(PROMPT, "blurry", settings)
    common = dict(prompt=PROMPT, negative_prompt="blurry", num_inference_steps=3, guidance_scale=settings.guidance,
                  generator=torch.Generator("cpu").manual_seed(9))
    with torch.inference_mode():
        if use_refiner:
            latents = tiny_images.base(**common, denoising_end=settings.refiner_switch, output_type="latent").images
            own = tiny_images.refiner(**common, image=latents, denoising_start=settings.refiner_switch).images[0]
        else:
            own = tiny_images.base(**common).images[0]
    assert np.array_equal(np.asarray(rendered.image), np.asarray(label_test_image(own)))
    assert len(np.unique(np.asarray(own))) > 16  # a picture, not a flat colour that any conversion would match


def test_the_pipelines_name_their_device_without_searching_their_modules(tiny_images):
    """diffusers finds a pipeline's execution device by checking every submodule for offloading hooks on every
    call; the studio's pipelines name the model's device at once, which is the answer diffusers' search gives."""
    from core.image.sdxl import ImageModel

    for pipe in tiny_images.pipelines:
        diffusers_own = type(pipe).studio_kind._execution_device.fget(pipe)
        assert pipe._execution_device == diffusers_own == torch.device(tiny_images.device)
        assert type(pipe).__mro__[1] is type(pipe).studio_kind  # one level over diffusers' class
    again = ImageModel(tiny_images.base, tiny_images.refiner, tiny_images.spec, tiny_images.device, tiny_images.policy)
    assert all(type(pipe).__mro__[1] is type(pipe).studio_kind for pipe in again.pipelines)  # not stacked
    warm = type(tiny_images.base).from_pipe(tiny_images.base)  # as the compile beside the lane builds its own
    assert warm._execution_device == torch.device(tiny_images.device)


def test_the_text_encoders_are_graphed_once_each_and_only_on_a_gpu(tiny_images):
    """CLIP-L and the OpenCLIP-bigG the refiner shares: one graphed forward each. On the CPU they stay eager."""
    assert len(tiny_images.graphed_encoders) == 2
    assert tiny_images.refiner.text_encoder_2.forward is tiny_images.graphed_encoders[1]
    assert not any(encoder.on for encoder in tiny_images.graphed_encoders)


@pytest.mark.gpu
def test_new_prompts_replay_the_text_encoders_with_the_encodings_they_give_eagerly(gpu_tiny_profile):
    """Each new prompt replays the graph recorded on the first: every encoding equals the eager one to the bit, and
    one prompt's encoding is not overwritten by the next one's replay. Under an offloading policy the weights move,
    so the encoders run eagerly there."""
    from core.image.encodings import GraphedEncoder
    from core.profiles import load_images

    model = load_images(gpu_tiny_profile)
    assert model.policy is MemoryPolicy.GPU and all(encoder.on for encoder in model.graphed_encoders)
    encode = model.encodings[0]._encode  # the pipeline's own encode_prompt, without the memory

    def encodings(prompt: str) -> tuple:
        with torch.inference_mode():
            return tuple(t.clone() for t in encode(prompt=prompt, negative_prompt="blurry", device="cuda"))
    prompts = ["a jar of açaí on ice", "rain boots by a door, blue hour", "a jar of açaí on ice, close-up"]
    model._graph_encoders(False)
    eager = [encodings(prompt) for prompt in prompts]
    model._graph_encoders(True)
    with torch.inference_mode():
        replayed = [encode(prompt=prompt, negative_prompt="blurry", device="cuda") for prompt in prompts]
    for ours, theirs in zip(replayed, eager):  # compared after all three: none overwritten by a later replay
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    assert not torch.equal(eager[0][0], eager[1][0])
    settings = ImageSettings(steps=2, seed=5)
    [graphed] = model.render("sunflowers in a tin can", "", settings)
    model._forget_encodings()
    model._graph_encoders(False)
    [plain] = model.render("sunflowers in a tin can", "", settings)
    assert np.array_equal(np.asarray(graphed.image), np.asarray(plain.image))
    model._graph_encoders(True)
    with GraphedEncoder.eager_in_this_thread():  # as the compile beside the lane encodes: nothing recorded
        assert all(torch.equal(a, b) for a, b in zip(encodings(prompts[0]), eager[0]))
    assert all(encoder._recorded is None for encoder in model.graphed_encoders)
    encodings(prompts[0])
    assert all(encoder._recorded is not None for encoder in model.graphed_encoders)
    model.place(MemoryPolicy.MODEL_OFFLOAD)
    assert not any(encoder.on for encoder in model.graphed_encoders)
    model.render("a kite over dunes", "", settings)
    model.place(MemoryPolicy.GPU)
    assert all(encoder.on for encoder in model.graphed_encoders)
