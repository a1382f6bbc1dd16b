"""Bukti: evidence media processing for teachers' attendance and TRK records."""

__version__ = "0.1.0"
