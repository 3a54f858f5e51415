"""The fast mode: a few-step LoRA (a tiny one built beside the tiny SDXL, as SDXL-Lightning's ships) on the base
alone, turned on for one render and off again, through the engine and the studio's flow."""
import dataclasses

import numpy as np
import pytest

from core.content.brief import Brief
from core.errors import SettingsError
from core.image.png import read_png_metadata
from core.image.sdxl import ImageModel
from core.image.settings import FAST_STEPS, ImageSettings
from core.studio.history import HistoryStore
from core.studio.jobs import edit_post, render_post
from core.studio.progress import Progress
from tests.test_image_generation import EncoderCalls

PROMPT = "a bottle of cold brew on a marble counter, soft daylight"


def pixels(rendered) -> np.ndarray:
    return np.asarray(rendered.image)


def test_the_fast_mode_runs_its_few_steps_with_the_lora_and_leaves_the_standard_mode_as_it_was(tiny_images):
    standard = ImageSettings(steps=3, seed=21)
    [before] = tiny_images.render(PROMPT, "", standard)
    steps = []
    [fast] = tiny_images.render(PROMPT, "", standard.fast(), on_step=lambda done, total: steps.append((done, total)))
    assert [done for done, _ in steps[:FAST_STEPS]] == list(range(1, FAST_STEPS + 1))
    assert {total for _, total in steps} == {FAST_STEPS}  # the base alone: no refiner steps on top
    assert fast.settings.quality == "fast" and fast.image.size == (1024, 1024)
    assert "tiny-sdxl-fast-lora" in fast.model_names
    # the LoRA and its scheduler change the picture: the same steps without them give another one
    [plain] = tiny_images.render(PROMPT, "", ImageSettings(steps=FAST_STEPS, seed=21, guidance=0.0, use_refiner=False))
    assert not np.array_equal(pixels(fast), pixels(plain))
    [after] = tiny_images.render(PROMPT, "", standard)
    assert np.array_equal(pixels(before), pixels(after))  # the adapter is off and the scheduler back


def test_fast_settings_refuse_more_steps_than_the_lora_takes_and_unknown_qualities():
    with pytest.raises(SettingsError) as error:
        ImageSettings(quality="fast", steps=30)
    assert error.value.field == "steps" and "no máximo 8 no modo rápido" in error.value.text("pt-BR")
    with pytest.raises(SettingsError) as error:
        ImageSettings(quality="turbo")
    assert error.value.field == "quality" and "standard, fast" in error.value.text("pt-BR")
    assert ImageSettings.from_dict(ImageSettings(seed=1).fast().to_dict()).quality == "fast"


def test_without_a_lora_the_fast_mode_says_why_in_the_users_language(tiny_images):
    bare = ImageModel(tiny_images.base, tiny_images.refiner, dataclasses.replace(tiny_images.spec, fast_lora=None),
                      tiny_images.device, tiny_images.policy)
    with pytest.raises(SettingsError) as error:
        bare.render(PROMPT, "", ImageSettings(seed=1).fast())
    assert error.value.field == "quality"
    assert "modo rápido não está disponível aqui: nenhum LoRA" in error.value.text("pt-BR")


def test_a_fast_render_through_the_studio_flow_is_saved_with_its_mode(tiny_images, tmp_path):
    store = HistoryStore(tmp_path)
    draft_id = store.create_draft(Brief(product="Cold brew"), "c", PROMPT, "", "Ana")
    result = render_post(Progress(), draft_id, PROMPT, "", ImageSettings(seed=3).fast(), lambda: tiny_images, store,
                         "Ana")
    [version] = store.get(draft_id).image_versions
    assert version.settings.quality == "fast" and version.settings.steps == FAST_STEPS
    metadata = read_png_metadata(store.image_path(result.image_files[0][0]))
    assert metadata["quality"] == "fast" and "tiny-sdxl-fast-lora" in metadata["models"]
    with pytest.raises(SettingsError) as error:  # edits keep the standard mode
        edit_post(Progress(), draft_id, 1, "variation", PROMPT, "", ImageSettings(seed=3).fast(),
                  lambda: tiny_images, store, "Ana")
    assert "edições usam só o modo padrão" in error.value.text("pt-BR")


def test_the_prompt_is_encoded_afresh_on_either_side_of_a_fast_render(tiny_images):
    """The few-step LoRA may hold text-encoder layers too: no encoding made with it on or off crosses over. A
    standard render of the base alone without guidance asks for the very encoding a fast render does."""
    unguided = ImageSettings(steps=2, seed=4, guidance=1.0, use_refiner=False)
    tiny_images.render(PROMPT, "", unguided)
    with EncoderCalls(tiny_images) as fast:
        tiny_images.render(PROMPT, "", unguided.fast())
    with EncoderCalls(tiny_images) as after:
        tiny_images.render(PROMPT, "", unguided)
    assert fast.count > 0 and after.count > 0
