"""Text engines: the interface copywriting calls, the local 4-bit model with its fast decoding paths, and the
OpenAI-compatible engine for model servers."""
