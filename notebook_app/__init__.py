"""The notebook face of the studio, for Colab's free tier and Jupyter: `from notebook_app import open_studio`."""
from notebook_app.studio import NotebookStudio, open_studio

__all__ = ["NotebookStudio", "open_studio"]
