"""Classbridge: a real-time server for live classroom exchanges."""

__version__ = "0.1.0"
