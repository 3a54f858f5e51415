"""Text engines: the interface copywriting calls, the local 4-bit model and its fast decoding paths."""
