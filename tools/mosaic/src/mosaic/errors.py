"""The one exception type the command line shows to the user, without a traceback."""


class MosaicError(Exception):
    """Something the user can act on: what went wrong and what to do next."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "", *, output: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.output = output  # e.g. the last lines a failed process printed

    def __str__(self) -> str:
        parts = [self.message]
        if self.output:
            parts.append(self.output.rstrip())
        if self.hint:
            parts.append(self.hint)
        return "\n".join(parts)


class UsageError(MosaicError):
    """A bad command line: exit code 2, as for any other usage error."""

    exit_code = 2
