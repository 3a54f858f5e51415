"""Content logic in plain Python (no torch): briefs, channel rules, prompts, copywriting, the visual prompt."""
