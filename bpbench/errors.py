"""The exception classes of a user's mistake."""


class BpbenchError(ValueError):
    """Input that bpbench cannot run or read; its message is one line for the user. The CLI
    prints it as ``bpbench: error: ...``; any other exception is a bug and keeps its traceback.
    A ValueError, so code that caught ValueError before still does."""


class GridError(BpbenchError):
    """A sweep specification that cannot be run; the message is one line for the user."""
