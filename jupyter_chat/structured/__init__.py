"""Structured answers: the schema a user hands in, how it is asked for, and how an answer is
read back and validated (no session, no network)."""
