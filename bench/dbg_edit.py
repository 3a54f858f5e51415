import sys, torch
sys.path.insert(0, "bench"); sys.path.insert(0, ".")
import bench_gpu as b
from core.image.placement import MemoryPolicy
from core.image.sdxl import load_image_model
from core.image.settings import ImageSettings
from core.image.editing import Edit
spec = b.ensure_sdxl()
m = load_image_model(spec, "cuda", MemoryPolicy.GPU)
m.base.vae.register_to_config(force_upcast=False)
print("vae force_upcast", m.base.vae.config.force_upcast, "refiner vae same", m.refiner.vae is m.base.vae, m.refiner.vae.config.force_upcast, m.refiner.vae.dtype)
[src] = m.render("a cup", "", ImageSettings(steps=4, seed=0))
def hook(mod, args, kwargs):
    s = args[0] if args else kwargs["sample"]; print("unet sample", s.dtype, type(mod).__name__, id(mod) == id(m.refiner.unet))
m.refiner.unet.register_forward_pre_hook(hook, with_kwargs=True)
base, ref = m._edit_pipelines("img2img")
print("img2img vae", base.vae.dtype, base.vae.config.force_upcast, "sched same", base.scheduler is m.base.scheduler)
lat = base(prompt="a cup", image=src.image, strength=0.5, num_inference_steps=8, denoising_end=0.8, output_type="latent").images
print("latents", lat.dtype)
try:
    ref(prompt="a cup", image=lat, num_inference_steps=8, denoising_start=0.8)
except Exception as e: print("ERR", e)
