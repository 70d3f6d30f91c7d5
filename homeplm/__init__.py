"""homeplm: a private, whole-house voice assistant on one small box."""

__version__ = "0.1.0"
