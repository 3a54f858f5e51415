"""4-bit weights for torch's own int4 matrix kernel, used instead of bitsandbytes NF4 on large, recent GPUs.

The kernel (tinygemm, in torch for compute capability 8.0 and newer) multiplies by weights stored as 4-bit
integers in groups of 64 along each row, each group with a bf16 scale and zero point. At batch 1 it read the
weights of Llama-3-8B's layer shapes at 1.3-1.8 TB/s on an H100, where bitsandbytes' NF4 kernel read 0.8-1.2,
with no larger error against the bf16 weights (bench/results). Older GPUs such as the T4, and the CPU, keep NF4.
"""
from __future__ import annotations

import functools

import torch
from torch import nn

GROUP_SIZE = 64
# The codes are held twice (plain for prompts, tiled for the kernel): 3.6 GiB more than NF4 for Llama-3-8B. On a
# 24 GB card that would leave SDXL too little room to stay on the GPU, so smaller cards keep NF4.
MIN_GPU_GIB = 40


def int4_supported(device: str | torch.device) -> bool:
    """Whether device should hold the text model's 4-bit weights for torch's int4 kernel: a CUDA GPU of compute
    capability 8.0 or newer (where the kernel exists) with at least MIN_GPU_GIB of memory."""
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    properties = torch.cuda.get_device_properties(device)
    return properties.major >= 8 and properties.total_memory / 2**30 >= MIN_GPU_GIB


def quantize_groups(weight: torch.Tensor, group_size: int = GROUP_SIZE):
    """(codes 0..15 as int32 (N, K), scales (N, K/group), zero points (N, K/group)): weight ~ (code - 8) * scale +
    zero, with each group's minimum and maximum on the grid's ends, rounded to nearest."""
    rows, columns = weight.shape
    groups = weight.float().reshape(-1, group_size)
    low, high = groups.amin(1, keepdim=True), groups.amax(1, keepdim=True)
    scale = (high - low).clamp(min=1e-6) / 15
    codes = ((groups - low) / scale).round().clamp(0, 15).to(torch.int32).reshape(rows, columns)
    zero = low + scale * 8
    return codes, scale.reshape(rows, -1), zero.reshape(rows, -1)


class Int4Linear(nn.Module):
    """A linear layer whose weight is held as 4-bit codes, two to a byte along each row (even column in the high
    nibble), with a scale and zero point per group of 64.

    On CUDA a tiled copy of the codes serves batch-1 decoding through torch's int4 kernel; a prompt of many
    tokens (and anything on CPU) dequantizes the weight to bf16 and multiplies with cuBLAS, since the int4
    kernel reads the whole weight again for every 16 tokens.
    """

    def __init__(self, codes: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, in_features: int,
                 out_features: int, bias: torch.Tensor | None = None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.register_buffer("codes", codes)
        self.register_buffer("scale", scale)
        self.register_buffer("zero", zero)
        self.register_buffer("tiled", None)
        self.register_buffer("scales_and_zeros", None)
        self.bias = nn.Parameter(bias, requires_grad=False) if bias is not None else None
        # on CUDA, prompts dequantize through one compiled kernel per weight shape; off until those are compiled
        # where a server serves first and compiles beside its lane (compile_dequantize)
        self.compiled_dequantize = True

    @classmethod
    def from_linear(cls, linear: nn.Linear, device: str | torch.device, tile: bool = True) -> "Int4Linear":
        """Quantize a linear layer's weight, on device (tiled for the CUDA kernel there unless tile is False)."""
        if linear.in_features % GROUP_SIZE or linear.out_features % 8:
            raise ValueError(f"int4 weights need inputs in multiples of {GROUP_SIZE} and outputs in multiples of 8, "
                             f"not {linear.in_features} and {linear.out_features}")
        codes, scale, zero = quantize_groups(linear.weight.detach().to(device))
        packed = (codes[:, ::2] << 4 | codes[:, 1::2]).to(torch.uint8)
        bias = linear.bias.detach().to(device, torch.bfloat16) if linear.bias is not None else None
        layer = cls(packed, scale.to(torch.bfloat16), zero.to(torch.bfloat16), linear.in_features,
                    linear.out_features, bias)
        if tile and torch.device(device).type == "cuda":
            layer.tile()
        return layer

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], prefix: str, linear: nn.Linear) -> "Int4Linear":
        """The layer standing for linear from tensors stored under prefix ("codes", "scale", "zero" and maybe
        "bias", as layer_tensors gives them), untiled; a ValueError when they are missing or of another shape."""
        try:
            codes, scale, zero = (tensors[f"{prefix}.{part}"] for part in ("codes", "scale", "zero"))
        except KeyError as missing:
            raise ValueError(f"no stored int4 weights for {missing}") from None
        groups = linear.in_features // GROUP_SIZE
        if (tuple(codes.shape) != (linear.out_features, linear.in_features // 2)
                or tuple(scale.shape) != (linear.out_features, groups) or tuple(zero.shape) != tuple(scale.shape)):
            raise ValueError(f"stored int4 weights for {prefix} have shape {tuple(codes.shape)}, the layer is "
                             f"{linear.out_features}x{linear.in_features}")
        return cls(codes, scale, zero, linear.in_features, linear.out_features, tensors.get(f"{prefix}.bias"))

    def tile(self) -> None:
        """Add the tiled copy of the codes that torch's CUDA int4 kernel reads (half a byte more per weight)."""
        # the kernel's tiles span 16 inputs each; the widest tiling the input size allows
        tiles = next(t for t in (8, 4, 2) if self.in_features % (t * 16) == 0)
        self.tiled = torch.ops.aten._convert_weight_to_int4pack(self.codes, tiles)
        self.scales_and_zeros = torch.stack([self.scale, self.zero], dim=2).transpose(0, 1).contiguous()

    def dequantize(self) -> torch.Tensor:
        """The bf16 weight (out_features, in_features) the codes stand for."""
        # on CUDA one compiled kernel per weight shape instead of six passes over the weight
        dequantize = _compiled_dequantize() if self.codes.is_cuda and self.compiled_dequantize else dequantize_codes
        return dequantize(self.codes, self.scale, self.zero)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).to(torch.bfloat16)
        if self.tiled is not None and flat.shape[0] == 1:
            out = torch.ops.aten._weight_int4pack_mm(flat, self.tiled, GROUP_SIZE, self.scales_and_zeros)
            if self.bias is not None:
                out = out + self.bias
        else:
            out = nn.functional.linear(flat, self.dequantize(), self.bias)
        return out.reshape(*x.shape[:-1], self.out_features).to(x.dtype)


def dequantize_codes(codes: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor) -> torch.Tensor:
    """bf16 weights from two-per-byte codes and their groups' scales and zero points."""
    rows = codes.shape[0]
    centred = torch.stack([codes >> 4, codes & 15], dim=-1).to(torch.bfloat16).view(rows, -1, GROUP_SIZE) - 8
    return torch.addcmul(zero.unsqueeze(-1), centred, scale.unsqueeze(-1)).view(rows, -1)


@functools.cache
def _compiled_dequantize():
    return torch.compile(dequantize_codes, dynamic=False, fullgraph=True)


def int4_layers(model) -> list[Int4Linear]:
    """The model's Int4Linear layers, in order."""
    return [module for module in model.modules() if isinstance(module, Int4Linear)]


def use_compiled_dequantize(model, on: bool) -> None:
    """Whether the model's int4 layers dequantize prompts through the compiled kernels (on) or eager operations."""
    for layer in int4_layers(model):
        layer.compiled_dequantize = on


def compile_dequantize(model) -> int:
    """Compile the dequantizing kernel for each weight shape of the model's int4 layers (the seconds to minutes of
    compiling, with nothing else touched), then turn it on for every layer; returns how many shapes."""
    compiled = _compiled_dequantize()
    shapes = {}
    for layer in int4_layers(model):
        shapes.setdefault((tuple(layer.codes.shape), tuple(layer.scale.shape)), layer)
    with torch.inference_mode():
        for layer in shapes.values():
            if layer.codes.is_cuda:
                compiled(layer.codes, layer.scale, layer.zero)
    use_compiled_dequantize(model, True)
    return len(shapes)


def layer_tensors(model) -> dict[str, torch.Tensor]:
    """Every int4 layer's codes, scales, zero points and bias by the layer's name: what from_tensors reads back
    (the tiled copies are left out: they are quick to make again and their layout is the kernel's own)."""
    tensors = {}
    for name, module in model.named_modules():
        if isinstance(module, Int4Linear):
            for part in ("codes", "scale", "zero", "bias"):
                if getattr(module, part) is not None:
                    tensors[f"{name}.{part}"] = getattr(module, part).detach()
    return tensors


def quantize_to_int4(model, device: str | torch.device, stored: dict[str, torch.Tensor] | None = None) -> int:
    """Replace every linear layer of the decoder's blocks with an Int4Linear, quantized on device one at a time
    so the bf16 weights never all sit on the GPU, or taken from stored (layer_tensors of an earlier load) without
    reading the bf16 weights at all; returns how many were replaced. The output head stays bf16, as bitsandbytes
    leaves it. The layers are left untiled: tile_for_kernel does that."""
    replaced = 0
    for index, block in enumerate(model.model.layers):
        for path, parent in list(block.named_modules()):
            for name, child in list(parent.named_children()):
                if type(child) is nn.Linear:
                    prefix = ".".join(filter(None, ("model.layers", str(index), path, name)))
                    layer = (Int4Linear.from_linear(child, device, tile=False) if stored is None
                             else Int4Linear.from_tensors(stored, prefix, child))
                    setattr(parent, name, layer)
                    replaced += 1
    return replaced


def tile_for_kernel(model) -> None:
    """Tile every int4 layer on CUDA for torch's kernel (nothing on CPU, where prompts and decoding dequantize)."""
    for layer in int4_layers(model):
        if layer.codes.is_cuda and layer.tiled is None:
            layer.tile()
