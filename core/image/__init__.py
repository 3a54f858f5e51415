"""Image engine: SDXL base + refiner, its settings, memory policies, speed-ups and PNG files."""
