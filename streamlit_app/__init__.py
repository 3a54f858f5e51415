"""The Streamlit face of the studio; pages call core and nothing else does their work."""
