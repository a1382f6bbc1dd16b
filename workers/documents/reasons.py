"""How a refusal quotes the library that found a document damaged."""

from __future__ import annotations


def quoted(exc: BaseException) -> str:
    """An exception's text on one line, cut to 160 characters, for a refusal's reason."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 160 else text[:157] + "..."
