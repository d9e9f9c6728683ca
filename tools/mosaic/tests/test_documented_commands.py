"""Every `mosaic` command and every repository path that README.md and docs/*.md name is real,
and every shell block is valid shell: read offline, nothing is run.

Which command lines are checked, and how:
- in a code block (fenced, or indented four spaces after a blank line), every simple command
  whose first word is `./mosaic` (or `mosaic`, in shell blocks only: elsewhere it is a folder),
  after `&&`, `;`, `|` or `$(`, backslash continuations joined, is a command to run: it must
  parse against the real command line (its subcommand chain resolved, its options and
  arguments parsed by typer's click, nothing invoked);
- in inline code, `./mosaic ...` is a command to run, parsed the same way, unless it is a
  synopsis: it holds `[`, `|` or `...` (as in the command tables). `<...>` stands for one value;
- a synopsis, and inline `mosaic ...` without `./` (prose naming a command, often without its
  arguments), is checked for its subcommand chain (each `a|b` alternative) and for every
  option it names (`--x[-file]` names `--x` and `--x-file`).
Paths: every backticked word or link target starting with deploy/, docs/, tools/, services/,
tests/ or bench/ exists (`*` globbed; `<...>` placeholders are skipped; `#anchor` and
`:line` are dropped). Shell: each shell block (```sh, or indented; a fence inside a list item
read without its indentation, as rendered) passes `bash -n` without a warning; and each
path of docs/deploy.md (`## ` section), read top to bottom, sets every variable before a
block uses it."""

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from mosaic.cli import app

# typer (0.2x) carries its own click; parse with it, as `mosaic` itself does
from typer._click import exceptions as cli_errors
from typer._click.core import Command, Context

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PATH_ROOTS = ("deploy/", "docs/", "tools/", "services/", "tests/", "bench/")
SYNOPSIS = re.compile(r"\[|\||\.\.\.")
PLACEHOLDER = re.compile(r"<[^<>]*>")
OPTION = re.compile(r"(?<![\w/-])(-{1,2}[A-Za-z][\w-]*)(\[-[\w-]+\])?")
SHELL = ("sh", "bash", "shell", "console", "indented")  # docs' indented blocks are all shell
SHELL_OPERATORS = {"&&", "||", ";", "|", "&", "(", ")", "$(", "`"}


@dataclass(frozen=True)
class Line:
    document: Path
    number: int
    text: str
    code: bool  # in a code block, not inline

    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.number}"


@dataclass(frozen=True)
class Block:
    document: Path
    number: int  # the first line's
    language: str
    text: str


def blocks(document: Path) -> Iterator[Block]:
    """Fenced blocks with their language, and indented blocks (language "indented")."""
    lines = document.read_text().splitlines()
    fence: str | None = None
    start, language, body, indent = 0, "", list[str](), 0
    previous_blank = True
    indented: list[str] = []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if fence is not None:
            if stripped == fence:
                yield Block(document, start, language, "\n".join(body))
                fence = None
            else:  # as rendered: without the indentation of a fence inside a list item
                body.append(line[indent:] if not line[:indent].strip() else line.lstrip())
            continue
        if stripped.startswith("```"):
            if indented:
                yield Block(document, start, "indented", "\n".join(indented))
                indented = []
            fence, start, language, body = "```", number + 1, stripped[3:].strip(), []
            indent = len(line) - len(line.lstrip())
            continue
        if line.startswith("    ") and (indented or previous_blank) and stripped:
            if not indented:
                start = number
            indented.append(line[4:])
        elif indented and stripped:
            yield Block(document, start, "indented", "\n".join(indented))
            indented = []
        previous_blank = not stripped
    if indented:
        yield Block(document, start, "indented", "\n".join(indented))


def code_lines(block: Block) -> Iterator[Line]:
    """The block's lines with backslash continuations joined, numbered by their first line."""
    pending, first = "", 0
    for offset, line in enumerate(block.text.splitlines()):
        if not pending:
            first = block.number + offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield Line(block.document, first, pending + line, code=True)
        pending = ""
    if pending:
        yield Line(block.document, first, pending, code=True)


def inline_spans(document: Path) -> Iterator[Line]:
    """Each inline code span outside code blocks, also one that wraps onto the next line
    (read with a space for the line break; tables' `\\|` read as `|`)."""
    in_block = {
        block.number + offset
        for block in blocks(document)
        for offset in range(-1, len(block.text.splitlines()) + 1)
    }
    lines = document.read_text().splitlines()
    prose = "\n".join("" if n in in_block else line for n, line in enumerate(lines, 1))
    for match in re.finditer(r"`([^`]+)`", prose):
        if "\n\n" in match.group(1):
            continue  # an unpaired backtick, not a span
        number = prose.count("\n", 0, match.start()) + 1
        text = match.group(1).replace("\n", " ").replace("\\|", "|")
        yield Line(document, number, text, code=False)


def mosaic_commands_in_shell(line: Line) -> Iterator[list[str]]:
    """Each simple command of a shell line that runs `mosaic`, its words after `mosaic`."""
    lexer = shlex.shlex(line.text, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        words = list(lexer)
    except ValueError:
        return  # unbalanced quotes: bash -n reports those
    command: list[str] = []
    for word in [*words, ";"]:
        if word in SHELL_OPERATORS or word.endswith("$("):
            yield from _mosaic_argv(command)
            command = []
        else:
            command.append(word)


def _mosaic_argv(command: list[str]) -> Iterator[list[str]]:
    while command and re.fullmatch(r"[A-Za-z_]\w*=.*", command[0]):
        command = command[1:]  # VAR=value before the command
    if command[:1] not in (["./mosaic"], ["mosaic"]):
        return
    argv, skip = [], False
    for word in command[1:]:
        if skip:
            skip = False
        elif word in (">", ">>", "<", "2>"):
            skip = True  # a redirection and its file
        else:
            argv.append(word)
    yield argv


def commands() -> Iterator[tuple[Line, bool]]:
    """Each documented mosaic command line, and whether it is one to run (else a mention)."""
    for document in DOCUMENTS:
        for block in blocks(document):
            # a bare `mosaic` only in shell blocks: elsewhere it is a folder in a tree
            bare = "" if block.language in SHELL else "\\./"
            for line in code_lines(block):
                if re.search(rf"(^|[\s;&|(])(\./|{bare})mosaic\s", line.text + " "):
                    yield line, True
        for span in inline_spans(document):
            if span.text.startswith("./mosaic "):
                yield span, not SYNOPSIS.search(span.text)
            elif span.text.startswith("mosaic ") and len(span.text.split()) > 1:
                yield span, False


def is_group(command: Command) -> bool:
    return hasattr(command, "get_command")


def subcommand(group: Command, context: Context, name: str) -> Command:
    found: Command | None = getattr(group, "get_command")(context, name)  # noqa: B009
    if found is None:
        raise cli_errors.UsageError(f"no command {name!r} in {context.command_path!r}")
    return found


def resolve(words: list[str]) -> tuple[Command, list[str], Context]:
    """The command the words' subcommand chain names, the words after it and its parent's
    context; a group followed by no command name resolves to the group."""
    command: Command = typer.main.get_command(app)
    context = Context(command, info_name="mosaic")
    while is_group(command) and words and not words[0].startswith("-"):
        found = subcommand(command, context, words[0])
        command, words = found, words[1:]
        context = Context(command, info_name=found.name, parent=context)
    return command, words, context


def check_runnable(argv: list[str]) -> None:
    command, rest, context = resolve(argv)
    if rest == ["--help"] or (context.parent is None and rest == ["--version"]):
        return  # every command and group has --help, `mosaic` --version: both only print
    if is_group(command):
        raise cli_errors.UsageError(f"{context.command_path!r} is a group, not a command")
    assert context.parent is not None
    command.make_context(command.name, rest, parent=context.parent, resilient_parsing=False)


def check_mention(text: str) -> None:
    words = PLACEHOLDER.sub("X", text).split()[1:]
    chain: list[str] = []
    for word in words:
        if word.startswith(("-", "[", "<")) or not re.fullmatch(r"[a-z][a-z0-9|-]*", word):
            break
        chain.append(word)
    alternatives: list[list[str]] = [[]]
    for choices in [word.split("|") for word in chain]:
        alternatives = [[*a, c] for a in alternatives for c in choices]
    for alternative in alternatives:
        # words after the chain that are positional values (`admin run orders recover`) are
        # not subcommands: resolve as far as the CLI has groups
        command: Command = typer.main.get_command(app)
        context = Context(command, info_name="mosaic")
        for word in alternative:
            if not is_group(command):
                break
            found = subcommand(command, context, word)
            command = found
            context = Context(command, info_name=found.name, parent=context)
        known = {name for param in command.params for name in param.opts + param.secondary_opts}
        for option, suffix in OPTION.findall(text):
            names = [option] + ([option + suffix[1:-1]] if suffix else [])
            missing = [name for name in names if name not in known | {"--help"}]
            if missing:
                raise cli_errors.NoSuchOption(missing[0], ctx=context)


def documented_commands() -> list[tuple[Line, bool]]:
    return list(commands())


@pytest.mark.parametrize(
    ("line", "runnable"),
    documented_commands(),
    ids=lambda v: v.where() if isinstance(v, Line) else "",
)
def test_documented_mosaic_command_is_real(line: Line, runnable: bool) -> None:
    try:
        if runnable and line.code:
            argvs = list(mosaic_commands_in_shell(line))
            for argv in argvs:
                check_runnable(argv)
        elif runnable:
            check_runnable(shlex.split(PLACEHOLDER.sub("X", line.text))[1:])
        else:
            check_mention(line.text)
    except cli_errors.ClickException as error:
        pytest.fail(f"{line.where()}: `{line.text.strip()}`: {error.format_message()}")


def documented_paths() -> Iterator[tuple[str, str]]:
    for document in DOCUMENTS:
        text = document.read_text()
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{document.relative_to(ROOT)}:{number}"
            candidates = re.findall(r"`([^`\s]+)`", line) + re.findall(r"\]\(([^)\s]+)\)", line)
            for candidate in candidates:
                if document.parent != ROOT and not candidate.startswith(PATH_ROOTS):
                    relative = (document.parent / candidate.split("#")[0]).resolve()
                    if candidate.endswith(".md") or ".md#" in candidate:
                        candidate = str(relative.relative_to(ROOT))
                if candidate.startswith(PATH_ROOTS) and "<" not in candidate:
                    yield where, re.sub(r"(#.*|:\d+(-\d+)?)$", "", candidate)


def exists(path: str) -> bool:
    """A path of the repository; `file.py::test_name` (a test, as docs/reliability.md names
    its proofs) also needs that test in the file."""
    path, _, test = path.partition("::")
    if "*" in path:
        return bool(list(ROOT.glob(path.rstrip("/"))))
    found = ROOT / path
    if not test:
        return found.exists()
    name = re.escape(test.split("[")[0])
    return found.is_file() and re.search(rf"def {name}\(", found.read_text()) is not None


def test_documented_paths_exist() -> None:
    missing = [f"{where}: {path}" for where, path in documented_paths() if not exists(path)]
    assert not missing, "documented paths that do not exist:\n" + "\n".join(missing)


def test_a_documented_test_must_exist_in_its_file() -> None:
    assert exists("tools/mosaic/tests/test_documented_commands.py::test_documented_paths_exist")
    assert not exists("tools/mosaic/tests/test_documented_commands.py::test_no_such_test")


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash -n needs bash")
def test_shell_blocks_are_valid_shell() -> None:
    invalid = []
    for document in DOCUMENTS:
        for block in blocks(document):
            if block.language not in SHELL:
                continue
            result = subprocess.run(
                ["bash", "-n"], input=block.text, capture_output=True, text=True, check=False
            )
            if result.returncode or result.stderr:  # a warning too: a heredoc left open
                where = f"{document.relative_to(ROOT)}:{block.number}"
                invalid.append(f"{where}: {result.stderr.strip()}")
    assert not invalid, "shell blocks bash -n rejects:\n" + "\n".join(invalid)


# --- docs/deploy.md: each path's shell variables -----------------------------------------
DEPLOY = ROOT / "docs" / "deploy.md"
ENVIRONMENT = {"HOME", "PATH", "PWD", "USER"}  # what every shell has


def words_outside_single_quotes(text: str) -> Iterator[tuple[str, bool]]:
    """The text in pieces, each with whether the shell expands `$` in it: outside single
    quotes and comments (a `'` in a comment, `# a project's id`, opens nothing)."""
    piece, index, quoted = "", 0, False  # quoted: inside "..."
    while index < len(text):
        char = text[index]
        if char == "'" and not quoted:
            end = text.find("'", index + 1)
            end = len(text) if end == -1 else end
            yield piece, True
            yield text[index : end + 1], False
            piece, index = "", end + 1
            continue
        if char == "#" and not quoted and (not piece or piece[-1].isspace()):
            end = text.find("\n", index)
            index = len(text) if end == -1 else end
            continue
        if char == '"' and (not piece or piece[-1] != "\\"):
            quoted = not quoted
        piece += char
        index += 1
    yield piece, True


def variables(text: str) -> tuple[list[str], list[str]]:
    """The variables a shell block sets (`NAME=`, `for NAME in`) and uses (`$NAME`,
    `${NAME...}`; not `${NAME:-default}`, which needs none), in order."""
    expanded = "".join(piece for piece, expands in words_outside_single_quotes(text) if expands)
    assigned = re.findall(r"(?:^|[\s;&|(])([A-Za-z_]\w*)=", expanded, re.M)
    assigned += re.findall(r"\bfor ([A-Za-z_]\w*) in\b", expanded)
    used = re.findall(r"\$\{?([A-Za-z_]\w*)\b(?!:-)", expanded)
    return assigned, used


def paths(document: Path) -> dict[str, list[Block]]:
    """The shell blocks under each `## ` section, in order."""
    headings = [
        (number, line[3:])
        for number, line in enumerate(document.read_text().splitlines(), 1)
        if line.startswith("## ")
    ]
    found: dict[str, list[Block]] = {}
    for block in blocks(document):
        if block.language not in SHELL:
            continue
        title = [name for number, name in headings if number < block.number][-1:]
        found.setdefault(title[0] if title else "", []).append(block)
    return found


@pytest.mark.parametrize("path", sorted(paths(DEPLOY)))
def test_deploy_md_sets_every_variable_before_a_command_uses_it(path: str) -> None:
    """Followed top to bottom, each path's commands never expand an unset variable."""
    known, unset = set(ENVIRONMENT), []
    for block in paths(DEPLOY)[path]:
        assigned, used = variables(block.text)
        # within a block, an assignment on a later line may serve an earlier loop's body:
        # block by block is what a reader pastes
        for name in used:
            if name not in known | set(assigned):
                unset.append(f"docs/deploy.md:{block.number}: ${name}")
        known |= set(assigned)
    assert not unset, f"{path}: used before any earlier step sets them:\n" + "\n".join(unset)


def test_every_guarantee_in_reliability_names_a_test_that_exists() -> None:
    """docs/reliability.md's promise: each row's proof is a test in the repository."""
    rows = [
        line
        for line in (ROOT / "docs" / "reliability.md").read_text().splitlines()
        if line.startswith("| ") and not line.startswith(("| guarantee", "|---"))
    ]
    assert rows
    unproven = [
        row[:80]
        for row in rows
        if not any(
            "test" in path and exists(path) for path in re.findall(r"`([^`\s]+\.py[^`\s]*)`", row)
        )
    ]
    assert not unproven, "rows without an existing test:\n" + "\n".join(unproven)
