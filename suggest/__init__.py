"""Retrieval and evaluation on top of the knowledge base."""
