"""Backends: one module per heavy library, imported only by homeplm.backends.factory."""
