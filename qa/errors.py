"""The project's error hierarchy.

Every error carries a one-line message that names the offending value and, where there is one,
the command that fixes it. The CLI and UI turn only these into clean messages; anything else is a
bug and keeps its traceback.
"""


class QAError(Exception):
    """Base class of every error the user can cause and fix."""


class ConfigError(QAError):
    """A setting is missing, unknown or has a wrong value."""


class InputError(QAError):
    """A question or a file cannot be used (empty, too long, binary, unreadable)."""


class IndexStateError(QAError):
    """The index directory is missing, broken, or disagrees with itself."""


class ModelMismatchError(IndexStateError):
    """The index was built with other embedding or chunk settings than the ones in use."""


class DependencyError(QAError):
    """An optional dependency is needed for what was asked; the message says what to install."""
