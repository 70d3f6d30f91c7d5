"""The household's memory: what it was told and what was said, under the household's control."""
