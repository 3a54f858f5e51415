"""Memory policies: where the SDXL weights live while rendering, chosen from the GPU's free memory."""
from __future__ import annotations

from enum import Enum

from core.devices import free_vram_gib
from core.errors import SettingsError


class MemoryPolicy(str, Enum):
    """Where the SDXL weights live while rendering, from fastest to most frugal."""

    GPU = "gpu"
    MODEL_OFFLOAD = "model_offload"
    SEQUENTIAL_OFFLOAD = "sequential_offload"

    def more_frugal(self) -> "MemoryPolicy | None":
        """The next policy that needs less GPU memory, or None if this is the most frugal."""
        order = list(MemoryPolicy)
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


# Free VRAM (GiB) each policy needs for 1024x1024 base + refiner in fp16, measured peaks plus headroom.
POLICY_NEEDS_GIB = {MemoryPolicy.GPU: 17.0, MemoryPolicy.MODEL_OFFLOAD: 10.0}


def choose_memory_policy(device: str, override: MemoryPolicy | str | None = None) -> MemoryPolicy:
    """The override if given, else the fastest policy that fits the device's free memory."""
    if override:
        try:
            return MemoryPolicy(override)
        except ValueError:
            allowed = ", ".join(p.value for p in MemoryPolicy)
            raise SettingsError("memory_policy", override, "not_one_of", allowed=allowed) from None
    free = free_vram_gib(device)
    if free is None:
        return MemoryPolicy.GPU  # on CPU everything already lives in host memory
    for policy, needs in POLICY_NEEDS_GIB.items():
        if free >= needs:
            return policy
    return MemoryPolicy.SEQUENTIAL_OFFLOAD
