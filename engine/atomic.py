"""Files that appear whole or not at all, alone or as a group.

`AtomicFile` and `write_atomic` take a destination path and the text (or
bytes) to put there, and give a file that readers see either as it was or as
the whole new content, never half written: the content goes to a temporary
file beside the destination, is flushed to disk, and is renamed into place.
Used by the compiled-book cache.

`FileGroup` takes several destinations (a bill and its rejects file) and
gives them the same promise together, through a lock and a commit journal:
after any crash, the next group over them finds every file new or every file
as it was. Its errors are `WriteError`s naming the user's path, never a
temporary.
"""

from __future__ import annotations

import errno
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO

from .errors import RatecardError


class AtomicFile:
    """A file written beside `path` under a temporary name and renamed into place by `commit`."""

    def __init__(self, path: str | Path, binary: bool = False) -> None:
        self.path = Path(path)
        self.temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{id(self):x}.tmp")
        mode = "xb" if binary else "x"
        self.handle = open(self.temporary, mode) if binary else open(self.temporary, mode, encoding="utf-8",
                                                                     newline="")

    def write(self, data) -> None:
        self.handle.write(data)

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        try:
            self.handle.close()
        finally:
            self.temporary.unlink(missing_ok=True)


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Put `data` at `path` through an `AtomicFile`; nothing is left behind if it fails."""
    out = AtomicFile(path, binary=isinstance(data, bytes))
    try:
        out.write(data)
        out.commit()
    except BaseException:
        out.discard()
        raise


# --- files that change together -----------------------------------------------------------------

LOCK_NAME = ".ratecard.lock"
JOURNAL_NAME = ".ratecard.journal"
TEMPORARY_SUFFIX = ".ratecard-tmp"
_JOURNAL_VERSION = 1


class WriteError(RatecardError):
    """An output could not be written. The message names the user's path, never a temporary."""

    code = "E020"

    def __init__(self, path: str | Path, reason: str, hint: str | None = None) -> None:
        super().__init__(f"cannot write {path}: {reason}", hint)
        self.path = str(path)

    @classmethod
    def of(cls, path: str | Path, error: OSError) -> WriteError:
        hint = ("free some space and run again; the previous files are as they were"
                if error.errno in (errno.ENOSPC, errno.EDQUOT) else None)
        return cls(path, error.strerror or str(error), hint)


def temporary_for(path: Path) -> Path:
    """The one temporary name of `path`. It is fixed, so the run holding the lock knows every leftover."""
    return path.with_name(f".{path.name}{TEMPORARY_SUFFIX}")


class FileGroup:
    """Files that change together: after any crash, every one is new or every one is as it was.

        with FileGroup([bill, rejects]) as group:   # waits for the lock, finishes or undoes a killed run
            with group.writing(bill) as handle:     # a text handle on the bill's temporary
                handle.write(text)
            group.remove(rejects)                   # or write it too; removals commit with the rest
            group.commit()

    There is no atomic rename of two files, so a commit goes through a journal:
    the temporaries are written and synced, the journal naming every rename and
    removal is put in place atomically (the commit point), the renames and
    removals are done, and the journal is removed. Each directory involved holds
    a lock file and, during a commit, a copy of the journal; all of them are
    removed afterwards, so the directories hold nothing but the files. A run that
    takes the lock first finishes any journal a killed run left (or undoes one
    that was not completely written) and removes temporaries that no journal names.
    """

    def __init__(self, paths: Iterable[str | Path], on_wait: Callable[[Path], None] | None = None) -> None:
        self.paths = [Path(path) for path in paths]
        self._on_wait = on_wait
        self._locks: list[_DirectoryLock] = []
        self._handles: dict[Path, TextIO] = {}
        self._removals: list[Path] = []
        self._journaled = False

    def __enter__(self) -> FileGroup:
        self._locks = _lock_and_recover(self.paths, self._on_wait)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if not self._journaled:
                self._discard()
        finally:
            _release(self._locks)
            self._locks = []

    def open(self, path: Path) -> TextIO:
        """The text handle on `path`'s temporary, created at the first call."""
        if path not in self._handles:
            self._handles[path] = open(temporary_for(path), "x", encoding="utf-8", errors="backslashreplace",
                                       newline="", buffering=1 << 20)
        return self._handles[path]

    @contextmanager
    def writing(self, path: Path) -> Iterator[TextIO]:
        """`open(path)`, with any OSError inside told as a `WriteError` naming `path`."""
        with _blame(path):
            yield self.open(path)

    def remove(self, path: Path) -> None:
        """Remove `path` in the same commit (when it exists: the lock keeps other runs from making it)."""
        if os.path.lexists(path):
            self._removals.append(path)

    def commit(self) -> None:
        """Put every written file in place and remove every removed one, as one change."""
        if not self.paths:  # a group of no files (a bill to standard output, no rejects file to keep)
            return
        for path, handle in self._handles.items():
            with _blame(path):
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
        journal = _Journal.new([(temporary_for(path), path) for path in self._handles], self._removals)
        if len(journal.replace) + len(journal.remove) > 1:
            with _blame(self.paths[0]):
                journal.write()
            self._journaled = True
        with _blame(self.paths[0]):
            journal.finish()
        self._handles, self._removals = {}, []

    def _discard(self) -> None:
        for path, handle in self._handles.items():
            try:
                handle.close()
            except OSError:
                pass  # the temporary goes anyway; the first error is the one the user sees
            temporary_for(path).unlink(missing_ok=True)
        self._handles = {}


class _DirectoryLock:
    """An exclusive `flock` on a lock file in the directory of `path`, removed when released."""

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path  # the destination it was taken for, to name in messages
        self.directory = path.parent
        self._descriptor = descriptor

    @classmethod
    def take(cls, path: Path, on_wait: Callable[[Path], None] | None) -> _DirectoryLock:
        """Wait for the lock (calling `on_wait(path)` once if it is held) and take it."""
        import fcntl  # POSIX only: `import ratecard` (which writes its cache atomically) must not need it

        lock_file = path.parent / LOCK_NAME
        while True:
            descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            try:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if on_wait is not None:
                        on_wait(path)
                        on_wait = None
                    fcntl.flock(descriptor, fcntl.LOCK_EX)
                if _same_file(descriptor, lock_file):  # else its holder removed it as we waited: take the new one
                    return cls(path, descriptor)
            except BaseException:
                os.close(descriptor)
                raise
            os.close(descriptor)

    def release(self) -> None:
        try:
            os.unlink(self.directory / LOCK_NAME)
        finally:
            os.close(self._descriptor)


def _release(locks: list[_DirectoryLock]) -> None:
    for lock in reversed(locks):
        lock.release()


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _directory_key(directory: Path) -> tuple[int, int]:
    info = os.stat(directory)
    return info.st_dev, info.st_ino


def _lock_and_recover(paths: list[Path], on_wait: Callable[[Path], None] | None) -> list[_DirectoryLock]:
    """Lock the directories of `paths`, finish or undo the journals found there, and drop leftover temporaries."""
    locks, journals = _lock_directories(paths, on_wait)
    try:
        for journal in journals:
            with _blame(paths[0]):
                journal.recover()
        for lock in locks:
            with _blame(lock.path):
                _remove_leftovers(lock.directory)
    except BaseException:
        _release(locks)
        raise
    return locks


def _lock_directories(paths: list[Path], on_wait: Callable[[Path], None] | None
                      ) -> tuple[list[_DirectoryLock], list[_Journal]]:
    """Lock the directories of `paths` and of every journal found in them, and give those journals."""
    wanted: dict[tuple[int, int], Path] = {}  # a directory's identity -> a path in it, for the lock's messages
    for path in paths:
        with _blame(path):
            wanted.setdefault(_directory_key(path.parent), path)
    while True:
        locks: list[_DirectoryLock] = []
        journals: dict[str, _Journal] = {}
        try:
            for key in sorted(wanted):  # one global order, so two runs never wait for each other
                with _blame(wanted[key]):
                    locks.append(_DirectoryLock.take(wanted[key], on_wait))
                    journal = _Journal.read(wanted[key].parent)
                if journal is not None:
                    journals[journal.id] = journal
            spanned = {_directory_key(path.parent): path for j in journals.values() for path in j.paths()}
        except BaseException:
            _release(locks)
            raise
        if spanned.keys() <= wanted.keys():
            return locks, list(journals.values())
        _release(locks)  # a journal spans a directory we do not hold: start again, holding it too
        wanted = spanned | wanted


@contextmanager
def _blame(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        raise WriteError.of(path, error) from error


def _remove_leftovers(directory: Path) -> None:
    """Temporaries of ours that no journal names: a killed run's, or a run's that failed before committing."""
    me = os.geteuid()
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(".") and entry.name.endswith(TEMPORARY_SUFFIX) \
                    and entry.stat(follow_symlinks=False).st_uid == me:
                os.unlink(entry.path)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _Journal:
    """The renames and removals of one commit, with a copy in every directory they touch."""

    def __init__(self, id: str, replace: list[tuple[Path, Path]], remove: list[Path]) -> None:
        self.id = id
        self.replace = replace
        self.remove = remove

    @classmethod
    def new(cls, replace: list[tuple[Path, Path]], remove: list[Path]) -> _Journal:
        return cls(os.urandom(8).hex(), [(Path(os.path.abspath(t)), Path(os.path.abspath(d))) for t, d in replace],
                   [Path(os.path.abspath(path)) for path in remove])

    def paths(self) -> list[Path]:
        """Every file the commit changes."""
        return [dest for _, dest in self.replace] + self.remove

    def directories(self) -> list[Path]:
        seen: dict[tuple[int, int], Path] = {}
        for path in self.paths():
            seen.setdefault(_directory_key(path.parent), path.parent)
        return [seen[key] for key in sorted(seen)]

    def copies(self) -> list[Path]:
        return [directory / JOURNAL_NAME for directory in self.directories()]

    def write(self) -> None:
        """Put a copy in every directory: the commit point is the last copy in place."""
        text = json.dumps({"ratecard-journal": _JOURNAL_VERSION, "id": self.id,
                           "replace": [[str(t), str(d)] for t, d in self.replace],
                           "remove": [str(path) for path in self.remove]})
        for copy in self.copies():
            temporary = temporary_for(copy)
            with open(temporary, "x", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, copy)
            _sync_directory(copy.parent)

    def recover(self) -> None:
        """A killed run's journal: finish it if every copy is in place, else undo it (it was never committed)."""
        if all(os.path.lexists(copy) for copy in self.copies()):
            self.finish()
            return
        for temporary, _ in self.replace:
            if os.path.lexists(temporary):
                os.unlink(temporary)
        self._remove_copies()

    def finish(self) -> None:
        """Do the renames and removals (again: each is skipped once done), then drop the journal."""
        for temporary, dest in self.replace:
            if os.path.lexists(temporary):  # else it was renamed before a crash
                os.replace(temporary, dest)
        for path in self.remove:
            if os.path.lexists(path):
                os.unlink(path)
        self._remove_copies()

    def _remove_copies(self) -> None:
        for directory in self.directories():
            _sync_directory(directory)  # the renames reach the disk before the journal leaves it
        for copy in self.copies():
            if os.path.lexists(copy):
                os.unlink(copy)

    @classmethod
    def read(cls, directory: Path) -> _Journal | None:
        """The journal a killed run left in `directory`, or None. One that is not ours is an error."""
        path = directory / JOURNAL_NAME
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        with os.fdopen(descriptor, encoding="utf-8") as handle:
            if os.fstat(descriptor).st_uid != os.geteuid():
                raise PermissionError(errno.EPERM, f"{path} belongs to another user; remove it", str(path))
            try:
                journal = cls._parse(json.loads(handle.read()))
            except (ValueError, TypeError, KeyError):
                journal = None
        if journal is None or not journal._confined_to_its_copies(path):
            os.unlink(path)  # not one we wrote (ours are written whole): it names nothing we may touch
            return None
        return journal

    @classmethod
    def _parse(cls, document: dict) -> _Journal | None:
        if document["ratecard-journal"] != _JOURNAL_VERSION:
            return None
        replace = [(Path(t), Path(d)) for t, d in document["replace"]]
        return cls(str(document["id"]), replace, [Path(path) for path in document["remove"]])

    def _confined_to_its_copies(self, copy: Path) -> bool:
        """Every rename is of a file's own temporary, every path absolute, and `copy` one of its copies."""
        paths = self.paths()
        if not all(path.is_absolute() for path in paths) or \
                any(temporary != temporary_for(dest) for temporary, dest in self.replace):
            return False
        try:
            return _directory_key(copy.parent) in {_directory_key(path.parent) for path in paths}
        except OSError:
            return False
