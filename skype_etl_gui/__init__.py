"""Skype Export Importer: a Skype chat history export into SQLite or PostgreSQL."""

__version__ = "0.1.0"
