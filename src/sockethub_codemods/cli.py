"""``sockethub-migrate``: run the managed-route codemod over files and directories.

Built on libcst's own pieces (``transform_module``, ``diff_code``) rather than
``python -m libcst.tool codemod``: no formatter is run, there is a check mode for CI,
ignored files are skipped, and a file that does not parse is one line in the summary.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import io
import os
import subprocess
import sys
import time
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sockethub_codemods import TODO_CONTINUATION, TODO_MARKER, __version__

__all__ = ["FileResult", "main", "migrate_bytes", "migrate_file"]

#: Directory names never descended into unless given explicitly on the command line.
DEFAULT_EXCLUDES = (".venv", "venv", ".tox", ".nox", "build", "node_modules", ".git", "__pycache__")
_MARKER_BYTES = TODO_MARKER.encode()
# A module that never spells this imports nothing from sockethub, so no name in it can be
# sockethub's WebSocketRoute and it cannot need changes: such files are counted but not
# parsed (most files of a real tree).
_SOCKETHUB_BYTES = b"sockethub"

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2

_EPILOG = """\
exit codes:
  0  success: files migrated (or nothing to change); TODOs may have been reported
  1  --check only: at least one file would be changed
  2  error: a file could not be read, decoded or parsed, a PATH does not exist,
     bad arguments, or libcst is not installed (pip install "sockethub[codemod]")

Every place the tool could not migrate safely gets a "# TODO(sockethub-migrate): ..."
comment and is listed as file:line in the summary. Rewritten files keep their
encoding and line endings; no formatter is run.
"""


@dataclass
class FileResult:
    """What happened to one file. ``flags`` are (line, text) of TODO comments."""

    path: str
    changed: bool = False
    error: str | None = None
    diff: str = ""
    flags: list[tuple[int, str]] = field(default_factory=list)


def _flags(code: str) -> list[tuple[int, str]]:
    """(line, text) of every ``# TODO(sockethub-migrate)`` comment (not strings) in ``code``."""
    found: list[tuple[int, str]] = []
    last_line = -1
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type != tokenize.COMMENT:
                continue
            line = token.start[0]
            if TODO_MARKER in token.string:
                found.append((line, token.string.lstrip("# ").strip()))
                last_line = line
            elif found and line == last_line + 1 and token.string.startswith(TODO_CONTINUATION):
                # A TODO wrapped at the line length: report it whole, on its first line.
                first, text = found[-1]
                found[-1] = (first, f"{text} {token.string[len(TODO_CONTINUATION) :].strip()}")
                last_line = line
    except (tokenize.TokenError, SyntaxError):
        return [
            (number, line.strip().lstrip("# ").strip())
            for number, line in enumerate(code.splitlines(), start=1)
            if line.lstrip().startswith("#") and TODO_MARKER in line
        ]
    return found


def _error_line(path: str, exc: BaseException, data: bytes) -> str:
    """One line: ``file:line: what``. Never a traceback."""
    line = 1
    what = f"internal error, please report it: {type(exc).__name__}: {exc}"
    raw_line = getattr(exc, "raw_line", None)
    if isinstance(exc, UnicodeDecodeError):
        line = data.count(b"\n", 0, exc.start) + 1
        what = f"cannot decode as {exc.encoding}: {exc.reason}"
    elif isinstance(exc, SyntaxError):
        line = exc.lineno or 1
        what = f"cannot parse: {exc.msg}"
    elif isinstance(raw_line, int):  # libcst.ParserSyntaxError
        line = raw_line
        message = str(getattr(exc, "message", "")).strip().splitlines()
        what = "cannot parse: " + (message[0] if message else "syntax error")
    what = " ".join(what.split())
    return f"{path}:{line}: error: {what}"


def migrate_file(path: str, *, write: bool, want_diff: bool) -> FileResult:
    """Migrate one file: rewrite it if ``write``, else only compute the outcome.

    Never raises for a bad file: read, decode and parse errors go in ``error``.
    """
    try:
        with open(path, "rb") as fp:
            data = fp.read()
    except OSError as exc:
        return FileResult(path=path, error=f"{path}:1: error: cannot read: {exc.strerror or exc}")
    result, new_data = migrate_bytes(path, data, want_diff=want_diff)
    if write and result.changed and new_data is not None:
        try:
            with open(path, "wb") as fp:
                fp.write(new_data)
        except OSError as exc:
            result.error = f"{path}:1: error: cannot write: {exc.strerror or exc}"
    return result


def migrate_bytes(
    path: str, data: bytes, *, want_diff: bool, filename: str | None = None
) -> tuple[FileResult, bytes | None]:
    """Migrate the text of one module; ``path`` names it in messages. Returns the outcome
    and the new bytes (None when nothing changed or it failed)."""
    result = FileResult(path=path)
    if _SOCKETHUB_BYTES not in data:
        if _MARKER_BYTES in data:
            result.flags = _flags(data.decode("utf-8", "replace"))
        return result, None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        source = data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        result.error = _error_line(path, exc, data)
        return result, None

    from libcst.codemod import CodemodContext, TransformFailure, TransformSuccess, diff_code
    from libcst.codemod import transform_module as run_transform

    from sockethub_codemods.migrate_managed_routes import MigrateManagedRoutesCommand

    command = MigrateManagedRoutesCommand(CodemodContext(filename=filename or path))
    outcome = run_transform(command, source)
    if isinstance(outcome, TransformFailure):
        error: BaseException = outcome.error
        if isinstance(getattr(error, "raw_line", None), int):
            # libcst points at the token after the mistake; CPython's parser says where
            # and what, so prefer its report when it also rejects the file.
            try:
                compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
            except SyntaxError as exc:
                error = exc
        result.error = _error_line(path, error, data)
        return result, None
    if not isinstance(outcome, TransformSuccess):
        result.error = f"{path}:1: error: interrupted"
        return result, None
    new_source = outcome.code
    result.flags = _flags(new_source) if TODO_MARKER in new_source else []
    if new_source == source:
        return result, None
    result.changed = True
    if want_diff:
        result.diff = diff_code(source, new_source, 3, filename=path)
    return result, new_source.encode(encoding)


def _migrate_star(args: tuple[str, bool, bool]) -> FileResult:
    path, write, want_diff = args
    return migrate_file(path, write=write, want_diff=want_diff)


# ---- file discovery ----
def _git_root(directory: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def _git_ignored(root: Path, paths: Sequence[str]) -> set[str] | None:
    """The subset of ``paths`` git ignores, or None if git could not tell."""
    if not paths:
        return set()
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "check-ignore", "--stdin", "-z"],
            input="\0".join(os.path.abspath(p) for p in paths).encode() + b"\0",
            capture_output=True,
            check=False,
        )
    except OSError:
        return None
    if out.returncode not in (0, 1):
        return None
    ignored = {os.path.abspath(p) for p in out.stdout.decode().split("\0") if p}
    return {p for p in paths if os.path.abspath(p) in ignored}


@dataclass
class _IgnoreRules:
    """A simple reader of ``.gitignore`` files, used outside git repositories.

    Supports blank lines, comments, ``dir/`` (directories only), patterns anchored with
    a ``/`` (relative to the .gitignore's directory) and ``*``/``?`` globs; negation
    (``!pattern``) is not supported and such lines are skipped.
    """

    rules: list[tuple[str, str, bool, bool]] = field(default_factory=list)

    def load(self, directory: str) -> None:
        try:
            with open(os.path.join(directory, ".gitignore"), encoding="utf-8") as fp:
                lines = fp.read().splitlines()
        except (OSError, UnicodeDecodeError):
            return
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith(("#", "!")):
                continue
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line
            self.rules.append((directory, line.lstrip("/"), dir_only, anchored))

    def ignored(self, path: str, is_dir: bool) -> bool:
        for base, pattern, dir_only, anchored in self.rules:
            if dir_only and not is_dir:
                continue
            rel = os.path.relpath(path, base)
            if rel.startswith(".."):
                continue
            rel = rel.replace(os.sep, "/")
            target = rel if anchored else os.path.basename(path)
            if fnmatch.fnmatchcase(target, pattern):
                return True
        return False


def _excluded(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def _walk(root: str, excludes: Sequence[str], use_git: bool) -> Iterator[str]:
    rules = _IgnoreRules() if not use_git else None
    for dirpath, dirnames, filenames in os.walk(root):
        if rules is not None:
            rules.load(dirpath)
        keep = []
        for d in sorted(dirnames):
            full = os.path.join(dirpath, d)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if d in DEFAULT_EXCLUDES or _excluded(rel, excludes):
                continue
            if rules is not None and rules.ignored(full, True):
                continue
            keep.append(d)
        dirnames[:] = keep
        for f in sorted(filenames):
            if not f.endswith(".py"):
                continue
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if _excluded(rel, excludes):
                continue
            if rules is not None and rules.ignored(full, False):
                continue
            yield full


def gather(paths: Iterable[str], excludes: Sequence[str]) -> tuple[list[str], list[str]]:
    """Python files under ``paths`` minus excluded and ignored ones; and path errors."""
    files: list[str] = []
    errors: list[str] = []
    by_repo: dict[Path, list[str]] = {}
    for raw in paths:
        path = os.path.normpath(raw)
        if os.path.isfile(path):
            files.append(path)  # named explicitly: never skipped
            continue
        if not os.path.isdir(path):
            errors.append(f"{raw}: error: no such file or directory")
            continue
        root = _git_root(Path(path))
        found = list(_walk(path, excludes, use_git=root is not None))
        if root is not None:
            by_repo.setdefault(root, []).extend(found)
        else:
            files.extend(found)
    for repo, candidates in by_repo.items():
        ignored = _git_ignored(repo, candidates) or set()
        files.extend(p for p in candidates if p not in ignored)
    return sorted(dict.fromkeys(files)), errors


# ---- running ----
class _Progress:
    """``sockethub-migrate: done/total files`` on one terminal line, redrawn at most ten
    times a second, and only once the run has lasted :attr:`DELAY` seconds (a short run
    shows nothing); never when the stream is not a terminal."""

    DELAY = 1.0

    def __init__(self, stream: TextIO, total: int, *, enabled: bool = True) -> None:
        self.stream = stream
        self.total = total
        self.enabled = enabled and total > 0 and stream.isatty()
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < self.DELAY or (now - self.last < 0.1 and done != self.total):
            return
        self.last = now
        self.shown = True
        self.stream.write(f"\r\033[2Ksockethub-migrate: {done}/{self.total} files")
        self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[2K")
            self.stream.flush()


def run(files: Sequence[str], *, write: bool, want_diff: bool, jobs: int) -> Iterator[FileResult]:
    """Migrate ``files``, in worker processes when ``jobs`` > 1; yield results as they end."""
    tasks = [(f, write, want_diff) for f in files]
    if jobs <= 1 or len(files) < 2 * jobs:
        yield from map(_migrate_star, tasks)
        return
    import libcst

    libcst.parse_module("")  # warm the parser before forking, as libcst's runner does
    executor: Executor = ProcessPoolExecutor(max_workers=jobs)
    with executor:
        chunksize = max(1, min(32, len(files) // (jobs * 4)))
        yield from executor.map(_migrate_star, tasks, chunksize=chunksize)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sockethub-migrate",
        description=(
            "Rewrite sockethub 0.1 managed-mode WebSocketRoute code into SocketHub "
            "(routes, dummy handlers, hook parameters, merge -> include, imports)."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="files or directories; - reads a module on stdin and writes the result to stdout",
    )
    parser.add_argument("--diff", action="store_true", help="print a unified diff, write nothing")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any file would change (with --diff: print the diff too)",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", help="print only errors (and the diff)"
    )
    verbosity.add_argument(
        "-v", "--verbose", action="store_true", help="also name every file left unchanged"
    )
    parser.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="with -: the path the module on stdin comes from (for messages and line length)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes (default: number of CPUs)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip files/directories whose path (relative to PATH) or name matches; repeatable",
    )
    parser.add_argument("--version", action="version", version=f"sockethub-migrate {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sockethub-migrate``; returns the exit code (see ``--help``)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    err = sys.stderr
    try:
        import sockethub_codemods.migrate_managed_routes  # noqa: F401  (needs libcst)
    except ImportError as exc:
        print(exc, file=err)
        return EXIT_ERROR
    if args.jobs < 1:
        print("sockethub-migrate: error: --jobs must be at least 1", file=err)
        return EXIT_ERROR
    if "-" in args.paths:
        if len(args.paths) != 1:
            print("sockethub-migrate: error: - (stdin) cannot be mixed with other paths", file=err)
            return EXIT_ERROR
        return _main_stdin(args)

    files, path_errors = gather(args.paths, args.exclude)
    write = not (args.diff or args.check)
    progress = _Progress(err, len(files), enabled=not args.quiet)
    results: list[FileResult] = []
    try:
        for result in run(files, write=write, want_diff=args.diff, jobs=args.jobs):
            results.append(result)
            progress.update(len(results))
    except KeyboardInterrupt:
        progress.clear()
        print("sockethub-migrate: interrupted", file=err)
        return EXIT_ERROR
    progress.clear()
    results.sort(key=lambda r: r.path)
    if args.diff:
        _print_diffs(results)
    return _report(results, path_errors, args, write=write)


def _main_stdin(args: argparse.Namespace) -> int:
    """``-``: migrate the module on stdin; the result (or with --diff/--check, the diff)
    goes to stdout, messages to stderr."""
    data = sys.stdin.buffer.read()
    name = args.stdin_filename or "-"
    result, new_data = migrate_bytes(name, data, want_diff=args.diff, filename=args.stdin_filename)
    write = not (args.diff or args.check)
    if write and not result.error:
        sys.stdout.buffer.write(new_data if new_data is not None else data)
        sys.stdout.flush()
    elif args.diff:
        _print_diffs([result])
    return _report([result], [], args, write=write)


def _print_diffs(results: Sequence[FileResult]) -> None:
    out = sys.stdout
    for result in results:
        if result.diff:
            out.write(result.diff.rstrip("\n") + "\n")
    out.flush()


def _report(
    results: Sequence[FileResult],
    path_errors: Sequence[str],
    args: argparse.Namespace,
    *,
    write: bool,
) -> int:
    """Print what happened (to stderr) and return the exit code."""
    err = sys.stderr
    changed = [r for r in results if r.changed]
    failed = [r for r in results if r.error]
    flagged = [r for r in results if r.flags]
    if not args.quiet:
        verb = "migrated" if write else "would migrate"
        for result in results:
            if result.changed:
                print(f"{verb} {result.path}", file=err)
            elif args.verbose and not result.error:
                print(f"unchanged {result.path}", file=err)
        if not write and any(r.changed for r in flagged):
            print("(TODO line numbers are those of the migrated files)", file=err)
        for result in flagged:
            for line, text in result.flags:
                print(f"{result.path}:{line}: {text}", file=err)
    for message in path_errors:
        print(message, file=err)
    for result in failed:
        print(result.error, file=err)
    if not args.quiet:
        todo_count = sum(len(r.flags) for r in flagged)
        summary = (
            f"{len(results)} file{'s' if len(results) != 1 else ''} scanned, "
            f"{len(changed)} {'changed' if write else 'would change'}, "
            f"{len(flagged)} flagged ({todo_count} TODO{'s' if todo_count != 1 else ''}), "
            f"{len(failed) + len(path_errors)} failed"
        )
        print(summary, file=err)
        if not changed and not failed and not path_errors:
            print("nothing to change", file=err)
    if failed or path_errors:
        return EXIT_ERROR
    if args.check and changed:
        return EXIT_CHANGES
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
