"""Question understanding: what a question asks for, and standalone questions from follow-ups."""

from qa.question.analysis import ANSWER_TYPES, FIGURE_TYPES, analyze

__all__ = ["ANSWER_TYPES", "FIGURE_TYPES", "analyze"]
