"""Evaluation: SQuAD-style metrics, the runner that asks every question, and the reports."""
