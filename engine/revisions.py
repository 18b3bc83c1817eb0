"""Reading a price book as a git revision has it.

Takes a book as `ratecard diff` names it (a `.rules` path, a shipped book's
name, or `REV:PATH`) and gives the compiled `PriceBook`. A `REV:PATH` book is
read with git from the repository of the current directory, as
`git show REV:PATH` would show it (PATH relative to the repository's top, or
`./PATH` relative to the current directory), and so are its includes: an
include is looked up in the same revision, never in the working tree. Only a
file outside the repository (the shipped rules of an installed ratecard) is
read from the file system. An existing file whose name holds a colon is a
file, not a revision.

Errors (`E510`-`E512`): not a git repository (or no git), a revision git does
not know, a path the revision does not have; each with a hint.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import subprocess
from pathlib import Path

import attrs

from .errors import RatecardError
from .include import FILE_SYSTEM, read_program
from .loader import collector_paused, load, load_program
from .source import Probe
from .tables import PriceBook


class NotARepository(RatecardError):
    code = "E510"


class UnknownRevision(RatecardError):
    code = "E511"


class NotInRevision(RatecardError):
    code = "E512"


@attrs.frozen(slots=True)
class BookSpec:
    """A book as named on the command line: `path` alone, or `path` at git `revision` ("" is git's index)."""

    text: str
    path: str
    revision: str | None = None


_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def parse_book_spec(text: str) -> BookSpec:
    """`REV:PATH` when `text` is one, else a path or shipped name: a file that exists, or a Windows drive path
    (`C:\\books\\x.rules`), is never taken for a revision."""
    colon = _revision_colon(text)
    if colon is None or Path(text).exists() or _DRIVE.match(text):
        return BookSpec(text, text)
    return BookSpec(text, text[colon + 1:], text[:colon])


def _revision_colon(text: str) -> int | None:
    """The colon that ends the revision part: the first one outside `@{...}` (`main@{12:00}:x.rules`)."""
    depth = 0
    for position, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif char == ":" and depth == 0:
            return position
    return None


def load_book(text: str, cwd: Path | None = None) -> PriceBook:
    """The book `text` names: `REV:PATH` read through git, else `loader.load` (a path or a shipped book)."""
    spec = parse_book_spec(text)
    if spec.revision is None:
        return load(spec.path)
    return load_at_revision(spec.revision, spec.path, cwd, name=spec.text)


def load_at_revision(revision: str, path: str, cwd: Path | None = None, name: str | None = None) -> PriceBook:
    """The book at `path` in git `revision` of the repository of `cwd` (default: the current directory)."""
    cwd = Path(cwd or Path.cwd()).absolute()
    if not path.strip():
        raise NotInRevision(f"'{revision}:' names no file", "write REV:PATH, e.g. HEAD:rules/my-book.rules")
    files = GitRevision(cwd, revision)
    target = files.path_of(path)
    files.require_blob(target, path)
    with collector_paused():
        program = read_program(target, files=files, name=name or f"{revision}:{path}")
    return load_program(program)


class GitRevision:
    """The files of one git revision (`include.Files`): paths under the repository's top are read from the
    revision, any other path from the file system."""

    def __init__(self, cwd: Path, revision: str) -> None:
        self.cwd = cwd
        self.revision = revision
        self.top = self._toplevel()
        self.tree = self._tree(revision)  # read every file from one tree, even if the ref moves meanwhile

    def path_of(self, path: str) -> Path:
        """Where git's `REV:path` points: relative to the repository's top, or to `cwd` for `./` and `../`."""
        relative_to_cwd = path.startswith(("./", "../", ".\\", "..\\")) or path in (".", "..")
        base = self.cwd if relative_to_cwd else self.top
        return Path(os.path.normpath(base / path))

    def require_blob(self, target: Path, written: str) -> None:
        """Nothing, when the revision has a file at `target`; else why not."""
        where = f"revision '{self.revision}'" if self.revision else "the git index"
        relative = self._relative(target)
        if relative is None:
            raise NotInRevision(f"{written} is outside the git repository at {self.top}",
                                "name a file of the repository, relative to its top or as ./PATH")
        kind, _ = self._object(relative)
        if kind is None:
            here = self._relative(Path(os.path.normpath(self.cwd / written)))
            if here not in (None, relative) and self._object(here)[0] == "blob":
                hint = f"PATH is read from the repository's top; for {here} write {self.revision}:./{written}"
            else:
                hint = f"list its files with: git ls-tree -r --name-only {self.revision or 'HEAD'}"
            raise NotInRevision(f"{where} has no file {relative}", hint)
        if kind != "blob":
            raise NotInRevision(f"{relative} is a directory in {where}, not a rules file", "name a .rules file")

    # -- include.Files -------------------------------------------------------------------------------

    def look(self, path: Path) -> tuple[Probe, bytes | None, OSError | None]:
        relative = self._relative(path)
        if relative is None:
            return FILE_SYSTEM.look(path)
        kind, data = self._object(relative)
        if kind == "blob":
            return Probe(str(path), str(path), hashlib.sha256(data).hexdigest()), data, None
        problem = errno.ENOENT if kind is None else errno.EISDIR
        return Probe(str(path), None, None), None, OSError(problem, os.strerror(problem), str(path))

    def display(self, path: Path) -> str:
        relative = self._relative(path)
        return FILE_SYSTEM.display(path) if relative is None else f"{self.revision}:{relative}"

    # -- git -----------------------------------------------------------------------------------------

    def _relative(self, path: Path) -> str | None:
        path = Path(os.path.normpath(path))
        return path.relative_to(self.top).as_posix() if path.is_relative_to(self.top) else None

    def _object(self, relative: str) -> tuple[str | None, bytes | None]:
        """The type and contents of `relative` in the revision, or (None, None) when it has none."""
        if "\n" in relative:
            return None, None
        name = f"{self.tree}:{relative}" if self.tree else f":{relative}"
        done = self._git("cat-file", "--batch", input=(name + "\n").encode())
        if done.returncode != 0:
            raise NotARepository(f"git cat-file failed in {self.top}: {_said(done)}", "check the repository")
        header, _, rest = done.stdout.partition(b"\n")
        fields = header.split()
        if len(fields) != 3 or fields[1] == b"missing":
            return None, None
        return fields[1].decode(), rest[:int(fields[2])]

    def _toplevel(self) -> Path:
        done = self._git("rev-parse", "--show-toplevel")
        if done.returncode != 0:
            raise NotARepository(f"{self.cwd} is not in a git repository ({_said(done)}), so a REV:PATH book "
                                 "cannot be read", "run ratecard diff inside the repository, or name a .rules file")
        return Path(done.stdout.decode().strip())

    def _tree(self, revision: str) -> str:
        """The tree of `revision` ("" for git's index, which `:PATH` reads)."""
        if revision == "":
            return ""
        done = None if revision.startswith("-") else self._git("rev-parse", "--verify", "--quiet",
                                                               f"{revision}^{{tree}}")
        if done is None or done.returncode != 0:
            raise UnknownRevision(f"git knows no revision '{revision}' in {self.top}",
                                  "name a commit, branch or tag (git log --oneline lists commits), e.g. HEAD or main")
        return done.stdout.decode().strip()

    def _git(self, *arguments: str, input: bytes | None = None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(["git", *arguments], cwd=self.cwd, input=input, capture_output=True, check=False)
        except OSError as error:
            raise NotARepository(f"cannot run git: {error.strerror or error}",
                                 "install git to read REV:PATH books, or name a .rules file") from None


def _said(done: subprocess.CompletedProcess) -> str:
    """What git said on failing, without its `fatal: `."""
    return done.stderr.decode(errors="replace").strip().removeprefix("fatal: ")
