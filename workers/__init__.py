"""Dramatiq workers: broker set-up, thin actors, the pipeline and the media processing."""
