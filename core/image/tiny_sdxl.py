"""An SDXL base and refiner of the real architecture family at toy width, with random weights, built locally
for the offline demo and the tests."""
from __future__ import annotations

from pathlib import Path

import torch

from core.content.clip_tokens import CLIP_WINDOW, clip_tokenizer

EULER_CONFIG = dict(beta_end=0.012, beta_schedule="scaled_linear", beta_start=0.00085, interpolation_type="linear",
                    num_train_timesteps=1000, prediction_type="epsilon", steps_offset=1, timestep_spacing="leading",
                    use_karras_sigmas=False)


def build_sdxl(base_folder: Path, refiner_folder: Path, unet: dict, refiner_unet: dict, vae: dict,
               text_encoder: dict, text_encoder_2: dict, seed: int = 0, dtype: torch.dtype = torch.float32,
               device: str = "cpu", weight_scale: float = 1.0) -> None:
    """An SDXL base and refiner with random weights built from the given configs, saved with save_pretrained.

    The refiner shares the base's second text encoder and VAE, as SDXL's own refiner does. weight_scale shrinks the
    random weights (full-size random models overflow fp16 activations otherwise)."""
    from diffusers import (AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLImg2ImgPipeline,
                           StableDiffusionXLPipeline, UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    with torch.device(device):
        parts = {"encoder": CLIPTextModel(CLIPTextConfig(**text_encoder)),
                 "encoder_2": CLIPTextModelWithProjection(CLIPTextConfig(**text_encoder_2)),
                 "unet": UNet2DConditionModel(**unet), "refiner_unet": UNet2DConditionModel(**refiner_unet),
                 "vae": AutoencoderKL(**vae)}
    with torch.no_grad():
        for name, module in parts.items():
            parts[name] = module.to(dtype)
            if weight_scale != 1.0:
                for parameter in module.parameters():
                    parameter.mul_(weight_scale)
    tokenizer, tokenizer_2 = clip_tokenizer(), clip_tokenizer("!")
    StableDiffusionXLPipeline(vae=parts["vae"], text_encoder=parts["encoder"], text_encoder_2=parts["encoder_2"],
                              tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=parts["unet"],
                              scheduler=EulerDiscreteScheduler(**EULER_CONFIG)).save_pretrained(base_folder)
    StableDiffusionXLImg2ImgPipeline(vae=parts["vae"], text_encoder=None, text_encoder_2=parts["encoder_2"],
                                     tokenizer=None, tokenizer_2=tokenizer_2, unet=parts["refiner_unet"],
                                     scheduler=EulerDiscreteScheduler(**EULER_CONFIG), requires_aesthetics_score=True,
                                     force_zeros_for_empty_prompt=False).save_pretrained(refiner_folder)


TIME_DIM = 8
# Attention only at a quarter of the latent's width: at half of it (4,096 positions at 1024x1024) the attention
# took two thirds of a CPU render (30 s for the default 40 steps); SDXL's own first level has none either.
TINY_UNET = dict(block_out_channels=(16, 32, 64), layers_per_block=1, in_channels=4, out_channels=4,
                 down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
                 up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"), attention_head_dim=(2, 2, 4),
                 use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=TIME_DIM,
                 transformer_layers_per_block=(1, 1, 1), sample_size=128, norm_num_groups=16)
# the base's UNet: text_time embedding input of six time ids plus the pooled text
TINY_BASE_UNET = dict(**TINY_UNET, cross_attention_dim=64, projection_class_embeddings_input_dim=6 * TIME_DIM + 32)


def build_tiny_sdxl(base_folder: Path, refiner_folder: Path, seed: int = 0) -> None:
    """SDXL of the real architecture family at toy width. The VAE keeps SDXL's 8x downscale, so images come out
    at the requested SDXL size."""
    time_dim = TIME_DIM
    text = dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, projection_dim=32,
                vocab_size=49408, max_position_embeddings=CLIP_WINDOW, bos_token_id=49406, eos_token_id=49407)
    unet_common = TINY_UNET
    # the refiner's text_time input has five time ids (with the aesthetic score) plus the pooled text
    build_sdxl(base_folder, refiner_folder, seed=seed, unet=TINY_BASE_UNET,
               refiner_unet=dict(**unet_common, cross_attention_dim=32,
                                 projection_class_embeddings_input_dim=5 * time_dim + 32),
               vae=dict(block_out_channels=(8, 16, 16, 16), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        layers_per_block=1, norm_num_groups=8, sample_size=1024, scaling_factor=0.13025),
               text_encoder=dict(**text, hidden_act="quick_gelu"), text_encoder_2=dict(**text, hidden_act="gelu"))


def build_tiny_inpaint_checkpoint(folder: Path, in_channels: int = 9, seed: int = 0) -> None:
    """An inpainting checkpoint for the tiny base, as the hub ships SDXL's: a unet folder whose UNet takes the
    latents, the mask and the masked image's latents (nine channels)."""
    from diffusers import UNet2DConditionModel
    torch.manual_seed(seed)
    UNet2DConditionModel(**{**TINY_BASE_UNET, "in_channels": in_channels}).save_pretrained(Path(folder) / "unet")


TINY_FAST_LORA_FILE = "tiny_fast_lora.safetensors"


def build_tiny_fast_lora(folder: Path, base_folder: Path, rank: int = 4, seed: int = 0) -> None:
    """A few-step LoRA for the tiny base's UNet, saved as SDXL LoRAs are shipped: random low-rank updates of the
    attention projections (both factors random, so it really changes the picture)."""
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(base_folder, subfolder="unet")
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False,
                                target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    StableDiffusionXLPipeline.save_lora_weights(folder, unet_lora_layers=get_peft_model_state_dict(unet),
                                                weight_name=TINY_FAST_LORA_FILE)
