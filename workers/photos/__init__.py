"""Photo processing: opening and decoding, renditions, hashes, and the facts in metadata."""
