"""The team's own photo as a starting point: read safely, fitted to SDXL, kept while its background is repainted;
and a dedicated inpainting checkpoint for repainted regions."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.content.brief import Brief
from core.errors import ModelLoadError, SettingsError
from core.image.editing import Edit, edit_arguments
from core.image.png import read_png_metadata
from core.image.settings import ImageSettings
from core.image.tiny_sdxl import build_tiny_inpaint_checkpoint
from core.image.uploads import MAX_UPLOAD_BYTES, read_image, read_upload
from core.profiles import ENV_SDXL_INPAINT, load_images, resolve_profile
from core.studio.history import HistoryStore
from core.studio.jobs import edit_post
from core.studio.progress import Progress

FAST = ImageSettings(steps=2, seed=7, use_refiner=False)


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def phone_photo() -> bytes:
    """A JPEG as a phone writes it: stored sideways with an orientation tag, and the camera's GPS position."""
    stored = Image.new("RGB", (400, 300), (200, 30, 30))
    stored.paste((30, 30, 200), (0, 0, 400, 40))  # a blue band along the stored top edge
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90° clockwise to show upright
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {2: (23.0, 33.0, 1.0)}  # GPS latitude
    return encoded(stored, "JPEG", exif=exif, quality=95)


def test_a_phone_photo_is_turned_upright_fitted_to_sdxl_and_loses_its_metadata(tmp_path):
    upload = read_upload(phone_photo(), "produto.jpg")
    assert upload.image.size == (896, 1152)  # 300x400 upright is portrait: the nearest SDXL shape
    pixels = np.array(upload.image)
    assert pixels[:, -40:].mean(axis=(0, 1))[2] > 150  # the band stored on top now runs down the right side
    assert upload.product is None  # no transparency, no cut-out
    assert not upload.image.info and not upload.image.getexif()
    store = HistoryStore(tmp_path)
    draft_id = store.create_draft(Brief(product="Café"), "Café bom.", "a cup of coffee", "blurry", "Ana")
    version = store.add_upload(draft_id, upload, "Ana")
    assert (version.n, version.edit, version.seed, version.settings.size) == (1, "upload", None, "896x1152")
    saved = store.image_path(version.file)
    assert read_png_metadata(saved) == {"size": "896x1152", "edit": "upload", "upload_name": "produto.jpg"}
    with Image.open(saved) as png:
        assert not png.getexif() and "exif" not in png.info
    assert HistoryStore(tmp_path).get(draft_id).image_versions[0].edit == "upload"  # survives a reopen


def bomb() -> bytes:
    """A 64x64 PNG whose header claims 60000x60000 pixels: 3.6 gigapixels if anything tried to decode it."""
    data = encoded(Image.new("L", (64, 64)), "PNG")
    header = struct.pack(">II", 60000, 60000) + data[24:29]
    return data[:16] + header + struct.pack(">I", zlib.crc32(b"IHDR" + header)) + data[33:]


@pytest.mark.parametrize("data, name, words", [
    (b"GIF89a" + b"\0" * 100, "anim.gif",
     "Imagem enviada: “anim.gif” não é uma imagem que o estúdio lê (PNG, JPEG"),
    (b"%PDF-1.7 not an image", "folheto.pdf", "“folheto.pdf” não é uma imagem que o estúdio lê"),
    (encoded(Image.new("RGB", (64, 64)), "GIF"), "logo.gif", "“logo.gif” não é uma imagem que o estúdio lê"),
    (encoded(Image.new("RGB", (256, 256), "red"), "JPEG")[:400], "cortada.jpg", "ou o arquivo está danificado"),
    (bomb(), "bomba.png", "tem 3600000000 pixels; o máximo por imagem é 40 megapixels"),
    (encoded(Image.new("L", (10000, 4500)), "PNG"), "enorme.png", "o máximo por imagem é 40 megapixels"),
    (b"\0" * (MAX_UPLOAD_BYTES + 1), "grande.png", "tem 20.0 MB; o máximo por arquivo é 20.0 MB"),
    (encoded(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG"), "vazia.png", "é totalmente transparente"),
])
def test_bad_uploads_are_refused_naming_the_file(data, name, words):
    with pytest.raises(SettingsError) as refused:
        read_upload(data, name)
    assert refused.value.field == "upload" and words in refused.value.text("pt-BR")


def test_webp_and_png_are_read():
    for format in ("WEBP", "PNG"):
        assert read_upload(encoded(Image.new("RGB", (1600, 900), "green"), format), f"a.{format}").image.size == \
            (1344, 768)  # 16:9: the banner shape


def cut_out() -> Image.Image:
    """A product photographed on nothing: an opaque disc on a transparent square."""
    image = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    disc = Image.new("L", (512, 512), 0)
    from PIL import ImageDraw
    ImageDraw.Draw(disc).ellipse((156, 156, 356, 356), fill=255)
    image.paste((240, 180, 20, 255), mask=disc)
    return image


def test_a_cut_out_product_stays_exactly_while_its_background_is_repainted(tiny_images, tmp_path):
    upload = read_upload(encoded(cut_out(), "PNG"), "garrafa.png")
    assert upload.image.size == (1024, 1024) and upload.product is not None
    product = np.array(upload.product) > 0
    assert 0.1 < product.mean() < 0.2  # the disc, scaled with the image
    store = HistoryStore(tmp_path)
    draft_id = store.create_draft(Brief(product="Garrafa"), "Garrafa.", "a bottle", "blurry", "Ana")
    version = store.add_upload(draft_id, upload, "Ana")
    with Image.open(store.image_path(version.mask_file)) as saved:
        cut = saved.convert("L")
    edit = edit_arguments("inpaint", upload.image.size, painted=cut, keep_region=True)
    edit_post(Progress(), draft_id, 1, "inpaint", "a bottle on a marble table", "blurry", FAST, lambda: tiny_images,
              store, "Bia", **edit)
    v2 = store.get(draft_id).image_versions[1]
    with Image.open(store.image_path(v2.file)) as result:
        after = np.array(result.convert("RGB"))
    before = np.array(upload.image)
    assert np.array_equal(after[product], before[product])  # the product, pixel for pixel
    assert not np.array_equal(after[~product], before[~product])  # a new background
    assert (v2.parent, v2.edit) == (1, "inpaint")


def test_a_brush_mask_drawn_on_a_preview_is_scaled_to_the_image_and_a_wrong_shape_is_refused():
    painted = Image.new("L", (256, 448), 0)
    painted.paste(255, (0, 0, 128, 224))  # the top-left quarter, on a 768x1344 image's preview
    mask = edit_arguments("inpaint", (768, 1344), painted=painted)["mask"]
    assert mask.size == (768, 1344) and np.array(mask)[:672, :384].min() == 255 and np.array(mask)[700:].max() == 0
    with pytest.raises(SettingsError) as refused:
        edit_arguments("inpaint", (768, 1344), painted=Image.new("L", (300, 300), 255))
    assert "Máscara: precisa ter o tamanho da imagem, 768x1344" in refused.value.text("pt-BR")
    with pytest.raises(SettingsError) as nothing_left:  # keeping the whole image leaves nothing to repaint
        edit_arguments("inpaint", (768, 1344), painted=Image.new("L", (256, 448), 255), keep_region=True)
    assert nothing_left.value.code == "mask_empty"


def test_the_command_line_uploads_a_photo_and_repaints_around_its_cut_out(app_env, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["generate", "--product", "Garrafa Serra Azul", "--out", str(out), "--steps", "1", "--seed", "5",
                 "--quiet", "--no-refiner"]) == 0
    draft_id = next(out.glob("*.png")).stem
    photo = tmp_path / "garrafa.png"
    cut_out().save(photo)
    assert main(["upload", str(photo), "--draft", draft_id]) == 0
    said = capsys.readouterr().err
    assert "as image v2 at 1024x1024, its cut-out saved as" in said
    mask = said.rsplit("saved as ", 1)[1].strip()
    assert main(["edit", "--draft", draft_id, "--version", "2", "--inpaint", mask, "--keep", "--steps", "1",
                 "--out", str(out), "--quiet"]) == 0
    assert (out / f"{draft_id}-v3.png").exists()
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8" + b"\0" * (MAX_UPLOAD_BYTES + 10))
    assert main(["upload", str(big), "--draft", draft_id]) == 2
    assert "is 20.0 MB; the most a file may have is 20.0 MB" in capsys.readouterr().err


def test_a_mask_read_for_the_command_line_goes_through_the_same_checks():
    with pytest.raises(SettingsError) as refused:
        read_image(bomb(), "mask", "mask.png")
    assert refused.value.field == "mask" and refused.value.code == "upload_too_many_pixels"


def test_a_dedicated_inpainting_checkpoint_repaints_regions(env, tmp_path):
    checkpoint = tmp_path / "inpaint"
    build_tiny_inpaint_checkpoint(checkpoint)
    profile = resolve_profile("tiny", env={**env, ENV_SDXL_INPAINT: str(checkpoint)},
                              device="cpu")
    model = load_images(profile)
    assert model.inpaint_unet.config.in_channels == 9 and "inpaint" in model.name
    base, _ = model._edit_pipelines("inpaint")
    assert base.unet is model.inpaint_unet and base.vae is model.base.vae  # only the UNet is its own
    [source] = model.render("a cup of coffee", "", ImageSettings(steps=1, seed=1))
    mask = edit_arguments("inpaint", source.image.size, across=(20, 60), down=(20, 60))["mask"]
    [edited] = model.edit(Edit("inpaint", source.image, mask=mask), "a red flower", "", FAST)
    inside = np.array(mask) > 0
    assert np.array_equal(np.array(edited.image)[~inside], np.array(source.image)[~inside])
    plain = tmp_path / "plain"
    build_tiny_inpaint_checkpoint(plain, in_channels=4)  # a text-to-image UNet is refused, naming the checkpoint
    with pytest.raises(ModelLoadError) as refused:
        load_images(resolve_profile("tiny", env={**env, ENV_SDXL_INPAINT: str(plain)},
                                    device="cpu"))
    assert "plain is not an SDXL inpainting checkpoint" in str(refused.value)

