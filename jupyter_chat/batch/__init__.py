"""Batches: many prompts over the session's one path (``map``, ``imap``), bounded, resumable, with
their progress and their results in input order."""
