"""The content studio engine: brief to channel copy, English visual prompt and SDXL image. Never imports streamlit."""
