"""Bukti's pure domain: facts, flags and the rules over them. Standard library only, no IO."""
