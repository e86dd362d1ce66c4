"""genloop: multi-generation training loops — collapse, curation, seeking, dynamics."""

__version__ = "0.1.0"
