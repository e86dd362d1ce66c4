"""genloop's version, in a leaf module so every layer can stamp it on what it writes."""

__version__ = "0.1.0"
