"""Intake: the sources polled, one poll of a source, ingest with its checkpoint, and replay."""
