"""An SDXL base and refiner of the real architecture family at toy width, with random weights, built locally
for the offline demo and the tests."""
from __future__ import annotations

from pathlib import Path

import torch

from core.content.clip_tokens import CLIP_WINDOW, clip_tokenizer

EULER_CONFIG = dict(beta_end=0.012, beta_schedule="scaled_linear", beta_start=0.00085, interpolation_type="linear",
                    num_train_timesteps=1000, prediction_type="epsilon", steps_offset=1, timestep_spacing="leading",
                    use_karras_sigmas=False)


def build_tiny_sdxl(base_folder: Path, refiner_folder: Path, seed: int = 0) -> None:
    """An SDXL base and refiner of the real architecture family at toy width, saved with save_pretrained.

    The VAE keeps SDXL's 8x downscale, so images come out at the requested SDXL size.
    """
    from diffusers import (AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLImg2ImgPipeline,
                           StableDiffusionXLPipeline, UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    time_dim = 8
    text = dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, projection_dim=32,
                vocab_size=49408, max_position_embeddings=CLIP_WINDOW, bos_token_id=49406, eos_token_id=49407)
    encoder = CLIPTextModel(CLIPTextConfig(**text, hidden_act="quick_gelu"))
    encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**text, hidden_act="gelu"))
    unet_common = dict(block_out_channels=(32, 64), layers_per_block=1, in_channels=4, out_channels=4,
                       down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                       up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4),
                       use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=time_dim,
                       transformer_layers_per_block=(1, 1), sample_size=128, norm_num_groups=16)
    # text_time embedding input: six (base) or five (refiner, with aesthetic score) time ids plus the pooled text
    unet = UNet2DConditionModel(**unet_common, cross_attention_dim=64, projection_class_embeddings_input_dim=6 * time_dim + 32)
    refiner_unet = UNet2DConditionModel(**unet_common, cross_attention_dim=32,
                                        projection_class_embeddings_input_dim=5 * time_dim + 32)
    vae = AutoencoderKL(block_out_channels=(8, 16, 16, 16), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        layers_per_block=1, norm_num_groups=8, sample_size=1024, scaling_factor=0.13025)
    tokenizer, tokenizer_2 = clip_tokenizer(), clip_tokenizer("!")
    StableDiffusionXLPipeline(vae=vae, text_encoder=encoder, text_encoder_2=encoder_2, tokenizer=tokenizer,
                              tokenizer_2=tokenizer_2, unet=unet,
                              scheduler=EulerDiscreteScheduler(**EULER_CONFIG)).save_pretrained(base_folder)
    StableDiffusionXLImg2ImgPipeline(vae=vae, text_encoder=None, text_encoder_2=encoder_2, tokenizer=None,
                                     tokenizer_2=tokenizer_2, unet=refiner_unet,
                                     scheduler=EulerDiscreteScheduler(**EULER_CONFIG), requires_aesthetics_score=True,
                                     force_zeros_for_empty_prompt=False).save_pretrained(refiner_folder)
