"""Edits of an image version on the tiny SDXL: variation, a repainted region, an extension to another format."""
import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.content.brief import Brief
from core.errors import SettingsError
from core.image.editing import Edit, extension_canvas, placement, rectangle_mask
from core.image.png import read_png_metadata
from core.image.settings import ImageSettings
from core.studio.history import HistoryStore
from core.studio.jobs import edit_post
from core.studio.progress import Progress

FAST = ImageSettings(steps=2, seed=7, use_refiner=False)


@pytest.fixture(scope="module")
def source(tiny_images):
    [rendered] = tiny_images.render("a cup of coffee on a table", "", ImageSettings(steps=1, seed=1))
    return rendered.image


def test_a_variation_keeps_the_size_and_changes_the_picture(tiny_images, source):
    [edited] = tiny_images.edit(Edit("variation", source, strength=0.5), "a cup of tea", "", FAST, parent=1)
    assert edited.image.size == source.size
    assert not np.array_equal(np.array(edited.image), np.array(source))
    assert edited.metadata == {"edit": "variation", "parent_version": "1", "strength": "0.5"}


def test_inpainting_changes_only_the_masked_region(tiny_images, source):
    mask = rectangle_mask(source.size, (0.3, 0.2, 0.7, 0.6))
    [edited] = tiny_images.edit(Edit("inpaint", source, mask=mask), "a red flower", "",
                                ImageSettings(steps=2, seed=3))  # with the refiner, as renders run
    before, after, inside = np.array(source), np.array(edited.image), np.array(mask) > 0
    assert edited.image.size == source.size
    assert np.array_equal(after[~inside], before[~inside])  # every pixel outside the mask, exactly
    assert not np.array_equal(after[inside], before[inside])


@pytest.mark.parametrize("target", [(768, 1344), (1344, 768), (896, 1152)])
def test_extending_to_a_format_keeps_the_original_whole_in_the_middle(tiny_images, source, target):
    [edited] = tiny_images.edit(Edit("extend", source, target=target), "a cup of coffee on a table", "", FAST)
    assert edited.image.size == target
    left, top, right, bottom = placement(source.size, target)
    placed = source.resize((right - left, bottom - top), Image.Resampling.LANCZOS)
    band = target[1] // 20 + 1  # the TEST IMAGE label of the random-weight model, redrawn at the bottom
    kept = np.array(edited.image.crop((left, top, right, min(bottom, target[1] - band))))
    assert np.array_equal(kept, np.array(placed)[:kept.shape[0]])
    canvas, mask = extension_canvas(source, target)
    assert np.array(mask)[top + 2, left + 2] == 0 and np.array(mask).max() == 255


@pytest.mark.parametrize("kind, extra, field, words", [
    ("variation", dict(strength=0.0), "strength", "Força da variação: precisa estar entre 0.1 e 0.9"),
    ("variation", dict(strength=1.0), "strength", "Força da variação: precisa estar entre 0.1 e 0.9"),
    ("inpaint", dict(mask=Image.new("L", (512, 512), 255)), "mask", "Máscara: precisa ter o tamanho da imagem"),
    ("inpaint", dict(mask=Image.new("L", (1024, 1024), 0)), "mask", "Máscara: nada foi marcado para refazer"),
    ("extend", dict(target=(1000, 1000)), "size", "Tamanho: use um dos tamanhos do SDXL"),
    ("extend", dict(target=(1024, 1024)), "size", "Tamanho: “1024x1024” já é o tamanho da imagem"),
    ("rotate", {}, "edit", "Edição: escolha uma destas opções: variation, inpaint, extend"),
])
def test_bad_edits_are_refused_naming_the_field(source, kind, extra, field, words):
    with pytest.raises(SettingsError) as refused:
        Edit(kind, source, **extra)
    assert refused.value.field == field and words in refused.value.text("pt-BR")


def test_an_edit_is_saved_as_a_new_version_with_its_lineage_and_mask(tiny_images, tmp_path, source):
    store = HistoryStore(tmp_path)
    draft_id = store.create_draft(Brief(product="Café"), "Café bom.", "a cup of coffee", "blurry", "Ana")
    [first] = tiny_images.render("a cup of coffee", "blurry", ImageSettings(steps=1, seed=1))
    store.add_image_version(draft_id, first, "Ana")
    mask = rectangle_mask(first.image.size, (0.0, 0.5, 1.0, 1.0))
    edit_post(Progress(), draft_id, 1, "inpaint", "a wooden table", "blurry", FAST, lambda: tiny_images, store, "Bia",
              mask=mask)
    edit_post(Progress(), draft_id, 2, "extend", "a wooden table", "blurry", FAST, lambda: tiny_images, store, "Bia",
              target=(768, 1344))
    v1, v2, v3 = store.get(draft_id).image_versions
    assert (v2.parent, v2.edit, v3.parent, v3.edit) == (1, "inpaint", 2, "extend")
    assert v1.edit == "" and v3.settings.size == "768x1344"
    assert np.array_equal(np.array(Image.open(store.image_path(v2.mask_file))), np.array(mask))
    assert read_png_metadata(store.image_path(v3.file))["edit"] == "extend"
    reopened = HistoryStore(tmp_path).get(draft_id).image_versions[2]  # the lineage survives a restart
    assert reopened.parent == 2 and reopened.edit == "extend"
    with pytest.raises(Exception) as missing:
        edit_post(Progress(), draft_id, 9, "variation", "x y z", "", FAST, lambda: tiny_images, store, "Bia")
    assert "não tem a imagem v9" in missing.value.text("pt-BR")


def test_the_command_line_edits_a_version(app_env, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["generate", "--product", "Café Serra Azul", "--cta", "Peça já", "--out", str(out), "--steps", "1",
                 "--seed", "5", "--quiet", "--no-refiner"]) == 0
    [png] = out.glob("*.png")
    draft_id = png.stem
    mask = out / "mask.png"
    rectangle_mask((1024, 1024), (0.1, 0.1, 0.4, 0.4)).save(mask)
    assert main(["edit", "--draft", draft_id, "--version", "1", "--inpaint", str(mask), "--steps", "1",
                 "--out", str(out), "--quiet"]) == 0
    assert (out / f"{draft_id}-v2.png").exists()
    assert main(["edit", "--draft", draft_id, "--version", "1", "--extend", "1000x1000", "--quiet"]) == 2
    assert "size must be one of the SDXL sizes" in capsys.readouterr().err


def test_edit_pipelines_share_the_weights_and_leave_their_dtype_alone(tiny_profile):
    import torch
    from core.profiles import load_images
    model = load_images(tiny_profile)  # its own copy: cast to half precision as on a GPU
    for pipe in model.pipelines:
        pipe.to(dtype=torch.bfloat16)
    base, refiner = model._edit_pipelines("inpaint")
    assert base.unet is model.base.unet and base.vae is model.base.vae  # shared, not copied
    assert refiner.unet is model.refiner.unet
    for module in (model.base.unet, model.base.vae, model.base.text_encoder, model.refiner.unet,
                   model.refiner.text_encoder_2):
        assert module.dtype == torch.bfloat16  # from_pipe would have cast them all to float32


@pytest.mark.parametrize("keep", [False, True])
def test_the_region_preview_shades_exactly_what_the_edit_repaints(keep):
    from core.image.editing import edit_arguments, region_preview
    image = Image.new("RGB", (256, 256), (40, 160, 40))
    box = (0.25, 0.25, 0.75, 0.75)
    preview = np.array(region_preview(image, box, keep_region=keep), dtype=int)
    mask = np.array(edit_arguments("inpaint", (256, 256), across=(25, 75), down=(25, 75),
                                   keep_region=keep)["mask"].resize((256, 256))) >= 128
    red = preview[..., 0] > preview[..., 1]  # shaded red where it will be repainted
    assert (red == mask).mean() > 0.99
    assert red[128, 128] != keep and red[5, 5] == keep  # the centre repainted, or kept and the edges repainted
