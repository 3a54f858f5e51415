"""Fuses a Llama layer's query/key/value and gate/up projections, so each reads its weights in one kernel.

At batch 1 every projection is one small matrix-vector kernel whose fixed cost rivals its reading time; seven
per layer become four. Plain weights are concatenated before any quantization. Packed NF4 data is concatenated
as it is (blocks of 64 weights never straddle two matrices, whose sizes are multiples of 64) and the block
scales are stored plainly, which is exact: double quantization keeps one offset per matrix, so it cannot
describe a concatenation.
"""
from __future__ import annotations

import gc

import torch
from torch import nn
from transformers.models.llama.modeling_llama import (ALL_ATTENTION_FUNCTIONS, LlamaAttention, LlamaMLP,
                                                      apply_rotary_pos_emb, eager_attention_forward)


def fuse_projections(model) -> int:
    """Fuse the projections of every Llama-style layer whose linears are all plain or all bitsandbytes 4-bit,
    bias-free; returns how many layers were fused. Leaves other models untouched (returns 0)."""
    fused = 0
    for module in model.modules():
        if type(module) is LlamaAttention and _fusable(module.q_proj, module.k_proj, module.v_proj):
            parts = [module.q_proj, module.k_proj, module.v_proj]
            module.qkv_split = [part.out_features for part in parts]
            module.qkv_proj = _concat(parts)
            del module.q_proj, module.k_proj, module.v_proj
            module.__class__ = FusedLlamaAttention
            fused += 1
        elif type(module) is LlamaMLP and _fusable(module.gate_proj, module.up_proj):
            module.gate_up_proj = _concat([module.gate_proj, module.up_proj])
            del module.gate_proj, module.up_proj
            module.__class__ = FusedLlamaMLP
    gc.collect()  # the old 4-bit weights sit in reference cycles with their modules
    return fused


def _concat(linears: list[nn.Module]) -> nn.Module:
    if type(linears[0]) is nn.Linear:
        first = linears[0]
        fused = nn.Linear(first.in_features, sum(part.out_features for part in linears), bias=False,
                          device="meta")
        fused.weight = nn.Parameter(torch.cat([part.weight.detach() for part in linears]), requires_grad=False)
        return fused.train(first.training)
    fused = concat_4bit(linears)
    for part in linears:  # free each part's packed data now rather than at the end of loading
        part.weight = None
    return fused


def concat_4bit(linears: list[nn.Module]) -> nn.Module:
    """One bitsandbytes 4-bit linear computing the given ones' outputs side by side (same input size, no bias)."""
    import bitsandbytes as bnb
    from bitsandbytes.functional import QuantState, dequantize_blockwise

    first = linears[0]
    states = [linear.weight.quant_state for linear in linears]
    absmax = torch.cat([dequantize_blockwise(s.absmax, s.state2) + s.offset if s.nested else s.absmax
                        for s in states])
    out_features = sum(linear.out_features for linear in linears)
    state = QuantState(absmax=absmax, shape=torch.Size([out_features, first.in_features]), code=states[0].code,
                       blocksize=states[0].blocksize, quant_type=states[0].quant_type, dtype=states[0].dtype)
    fused = bnb.nn.Linear4bit(first.in_features, out_features, bias=False, compute_dtype=first.compute_dtype,
                              compress_statistics=False, quant_type=states[0].quant_type, device="meta")
    data = torch.cat([linear.weight.data.reshape(-1) for linear in linears]).view(-1, 1)
    fused.weight = bnb.nn.Params4bit(data, requires_grad=False, quant_state=state, blocksize=states[0].blocksize,
                                     compress_statistics=False, quant_type=states[0].quant_type,
                                     quant_storage=first.weight.quant_storage, bnb_quantized=True, module=fused)
    return fused.train(first.training)


def _fusable(*linears: nn.Module) -> bool:
    if all(type(linear) is nn.Linear and linear.bias is None for linear in linears):
        return True
    import bitsandbytes as bnb
    return all(isinstance(linear, bnb.nn.Linear4bit) and linear.bias is None
               and linear.weight.quant_state is not None
               and not getattr(linear.weight.quant_state, "packing_format_for_cpu", False) for linear in linears)


class FusedLlamaAttention(LlamaAttention):
    """LlamaAttention with one qkv_proj; the rest of its forward is transformers' own."""

    def forward(self, hidden_states, position_embeddings=None, attention_mask=None, past_key_values=None,
                **kwargs):
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)
        query, key, value = self.qkv_proj(hidden_states).split(self.qkv_split, dim=-1)
        query_states = query.view(hidden_shape).transpose(1, 2)
        key_states = key.view(hidden_shape).transpose(1, 2)
        value_states = value.view(hidden_shape).transpose(1, 2)

        cos, sin = position_embeddings
        query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)
        if past_key_values is not None:
            key_states, value_states = past_key_values.update(key_states, value_states, self.layer_idx)

        attention = ALL_ATTENTION_FUNCTIONS.get_interface(self.config._attn_implementation, eager_attention_forward)
        attn_output, attn_weights = attention(self, query_states, key_states, value_states, attention_mask,
                                              dropout=0.0, scaling=self.scaling, **kwargs)
        attn_output = attn_output.reshape(*input_shape, -1).contiguous()
        return self.o_proj(attn_output), attn_weights


class FusedLlamaMLP(LlamaMLP):
    """LlamaMLP with one gate_up_proj."""

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(self.act_fn(gate) * up)
