"""Files: the archive format (JSON header and arrays in a zip, no pickle) and model files."""

from descent.files.model import ModelFileError, load, save

__all__ = ["ModelFileError", "load", "save"]
