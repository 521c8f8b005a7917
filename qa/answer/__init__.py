"""Answerers: turn retrieved evidence into an Answer. One module per answerer."""
