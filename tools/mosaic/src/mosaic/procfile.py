"""Procfiles: one `type: command` per line, as Heroku, foreman and honcho read them."""

import re
import shlex
from pathlib import Path

from mosaic.errors import MosaicError

_LINE = re.compile(r"^(?P<type>[A-Za-z0-9_-]+)\s*:\s*(?P<command>\S.*)$")
RELEASE = "release"


def parse_procfile(text: str, source: str = "Procfile") -> dict[str, str]:
    """Process types to commands, in file order; blank lines and `#` comments are skipped."""
    types: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise MosaicError(
                f"{source}, line {number}: expected `type: command`, got {raw!r}",
                "Each line names a process type (web, worker, release, ...) and its command.",
            )
        kind = match["type"]
        if kind in types:
            raise MosaicError(f"{source}, line {number}: process type {kind!r} appears twice")
        types[kind] = match["command"].strip()
    return types


def read_procfile(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise MosaicError(f"{path} is missing", "Every service needs a Procfile.") from None
    return parse_procfile(text, str(path))


def shell_argv(command: str) -> list[str]:
    """argv that runs a Procfile command through /bin/sh, as Procfile runners do.

    A single simple command is `exec`ed, so the process we supervise and signal is the
    program itself, not a shell waiting for it; a compound command (`a && b`) keeps its shell.
    """
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    try:
        tokens = list(lexer)
    except ValueError as error:
        raise MosaicError(f"cannot parse the command {command!r}: {error}") from None
    operators = {";", "&", "&&", "|", "||", "(", ")", ";;"}
    compound = any(token in operators for token in tokens)
    return ["/bin/sh", "-c", command if compound else f"exec {command}"]


def argv_with_arguments(command: str, arguments: list[str]) -> list[str]:
    """argv that runs a simple command with `arguments` after it, each passed as is (no
    shell quoting to get wrong): `/bin/sh -c 'exec COMMAND "$@"' sh ARGUMENT...`."""
    argv = shell_argv(command)
    if not argv[2].startswith("exec "):
        raise MosaicError(
            f"cannot pass arguments to the compound command {command!r}",
            "Make it one simple command (a module or a script that does the rest).",
        )
    return [*argv[:2], f'{argv[2]} "$@"', "sh", *arguments]
