"""kefu: knowledge base and reply suggestions for online-shop customer service."""

__version__ = "0.1.0"
