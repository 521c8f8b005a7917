"""Ingest: files -> cleaned ``Article`` records -> sentences with offsets -> sentence-aligned chunks."""
