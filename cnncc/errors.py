"""The one error hierarchy of cnncc and its exit codes.

Every error a user can cause is a :class:`CnnccError`; ``cli.py`` prints its one-line message on stderr and
exits with its ``exit_code``. Anything else that escapes is an internal error (exit 70).

Exit codes (documented in the README):

* 0  success
* 1  a budget/gate failed, or a simulation/verification mismatch
* 2  usage error or invalid input (bad file, bad option, bad pipeline, bad target file)
* 3  the model uses something the chosen target (or cnncc) does not support
* 70 internal error (a bug in cnncc)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE = 1
EXIT_USAGE = 2
EXIT_UNSUPPORTED = 3
EXIT_INTERNAL = 70


class CnnccError(Exception):
    """Base of every error cnncc reports to a user."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(CnnccError):
    """Bad command-line usage or option value (exit 2)."""

    exit_code = EXIT_USAGE


class InvalidModelError(CnnccError):
    """The model file is missing, unreadable, malformed or inconsistent (exit 2)."""

    exit_code = EXIT_USAGE


class TargetError(CnnccError):
    """A target file or override is invalid (exit 2)."""

    exit_code = EXIT_USAGE


class PipelineError(CnnccError):
    """A pass pipeline string or pass option is invalid (exit 2)."""

    exit_code = EXIT_USAGE


class UnsupportedError(CnnccError):
    """The model uses an op or feature that cnncc or the target does not support (exit 3)."""

    exit_code = EXIT_UNSUPPORTED

    @classmethod
    def op(cls, op_type: str, node: str, target: str = "cnncc") -> UnsupportedError:
        """The canonical message for an unsupported op: names the op, the node and the target."""
        return cls(f"unsupported op {op_type!r} (node {node!r}) on target {target!r}")


class GateError(CnnccError):
    """A budget or gate failed (exit 1)."""

    exit_code = EXIT_GATE


class MismatchError(CnnccError):
    """A simulation or verification disagreed with the reference (exit 1)."""

    exit_code = EXIT_GATE


class InternalError(CnnccError):
    """A bug in cnncc (e.g. a pass produced an invalid graph) (exit 70)."""

    exit_code = EXIT_INTERNAL


class CapacityError(UnsupportedError):
    """A layer cannot be scheduled because the target's memory is too small (exit 3)."""


class IRVerifyError(CnnccError):
    """``Graph.verify()`` found an inconsistency. Raised on user input at load time (exit 2);
    raised after a pass it indicates a bug in that pass and the CLI reports it as internal."""

    exit_code = EXIT_USAGE
