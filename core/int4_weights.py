"""4-bit weights for torch's own int4 matrix kernel, used instead of bitsandbytes NF4 on GPUs that support it.

The kernel (tinygemm, in torch for compute capability 8.0 and newer) multiplies by weights stored as 4-bit
integers in groups of 64 along each row, each group with a bf16 scale and zero point. At batch 1 it read the
weights of Llama-3-8B's layer shapes at 1.3-1.75 TB/s on an H100, where bitsandbytes' NF4 kernel read 0.8-1.1,
with no larger error against the bf16 weights (bench/results). Older GPUs such as the T4, and the CPU, keep NF4.
"""
from __future__ import annotations

import torch
from torch import nn

GROUP_SIZE = 64


def int4_supported(device: str | torch.device) -> bool:
    """Whether torch's int4 kernel runs on device (CUDA, compute capability 8.0 or newer)."""
    device = torch.device(device)
    return device.type == "cuda" and torch.cuda.is_available() and torch.cuda.get_device_capability(device)[0] >= 8


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
    """A bias-free or biased linear layer whose weight is held as packed 4-bit groups for torch's int4 kernel."""

    def __init__(self, packed: torch.Tensor, scales_and_zeros: torch.Tensor, in_features: int, out_features: int,
                 bias: torch.Tensor | None = None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.register_buffer("packed", packed)
        self.register_buffer("scales_and_zeros", scales_and_zeros)
        self.bias = nn.Parameter(bias, requires_grad=False) if bias is not None else None

    @classmethod
    def from_linear(cls, linear: nn.Linear, device: str | torch.device) -> "Int4Linear":
        """Quantize a linear layer's weight on device (where the packing must match the kernel that runs it)."""
        if linear.in_features % GROUP_SIZE or linear.out_features % 8:
            raise ValueError(f"int4 weights need inputs in multiples of {GROUP_SIZE} and outputs in multiples of 8, "
                             f"not {linear.in_features} and {linear.out_features}")
        weight = linear.weight.detach().to(device)
        codes, scale, zero = quantize_groups(weight)
        if weight.device.type == "cuda":
            nibbles = (codes[:, ::2] << 4 | codes[:, 1::2]).to(torch.uint8)
            # the kernel's tiles span 16 inputs each; the widest tiling the input size allows
            tiles = next(t for t in (8, 4, 2) if linear.in_features % (t * 16) == 0)
            packed = torch.ops.aten._convert_weight_to_int4pack(nibbles, tiles)
        else:
            packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes, 2)
        scales_and_zeros = torch.stack([scale, zero], dim=2).transpose(0, 1).contiguous().to(torch.bfloat16)
        bias = linear.bias.detach().to(device, torch.bfloat16) if linear.bias is not None else None
        return cls(packed, scales_and_zeros, linear.in_features, linear.out_features, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).to(torch.bfloat16)
        if flat.device.type == "cuda":
            out = torch.ops.aten._weight_int4pack_mm(flat, self.packed, GROUP_SIZE, self.scales_and_zeros)
        else:
            out = torch.ops.aten._weight_int4pack_mm_for_cpu(flat, self.packed, GROUP_SIZE, self.scales_and_zeros)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features).to(x.dtype)


def quantize_to_int4(model, device: str | torch.device) -> int:
    """Replace every linear layer of the decoder's blocks with an Int4Linear quantized on device, one at a time so
    the bf16 weights never all sit on the GPU; returns how many were replaced. The output head stays bf16, as
    bitsandbytes leaves it."""
    replaced = 0
    for block in model.model.layers:
        for parent in list(block.modules()):
            for name, child in list(parent.named_children()):
                if type(child) is nn.Linear:
                    setattr(parent, name, Int4Linear.from_linear(child, device))
                    replaced += 1
    return replaced
