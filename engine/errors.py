"""Errors as values, and the exceptions that carry them.

Gives `Diagnostic` (a code, a severity, a message, a span and a hint: what
`rulecheck` reports about a rules file), `RatecardError`, the one base class of
every exception the package raises, and the specific errors a quote or a bill
can meet. Nothing in the package lets a bare `KeyError` or `ValueError` escape.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import attrs

from .source import Span

ERROR = "error"
WARNING = "warning"


@attrs.frozen(slots=True)
class Diagnostic:
    """One finding about a rules file."""

    code: str
    message: str
    span: Span
    hint: str | None = None
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean ...?' hint for a misspelt word, or None."""
    from difflib import get_close_matches  # only errors need it: keeps `import ratecard` light
    close = get_close_matches(str(word), [str(choice) for choice in choices], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


class RatecardError(Exception):
    """Base of every error ratecard raises. Has a stable `code` and a `hint`."""

    code = "E000"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"

    def __reduce__(self):
        # Every subclass survives pickling (a caller may bill across processes), whatever its __init__ takes.
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type, args: tuple, state: dict) -> RatecardError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class RulesError(RatecardError):
    """A rules file could not be loaded: it has at least one error diagnostic."""

    code = "E001"

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict | None = None) -> None:
        errors = [d for d in diagnostics if d.is_error]
        first = errors[0] if errors else diagnostics[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first.span}: {first.message}{more}", first.hint)
        self.diagnostics = tuple(diagnostics)
        self.sources = sources or {}


class PricingError(RatecardError):
    """A request or usage record cannot be priced by this book."""

    code = "E100"


class UnknownRegion(PricingError):
    code = "E101"


class UnknownModel(PricingError):
    code = "E102"


class RegionNotOffered(PricingError):
    code = "E103"


class BeyondHighestTier(PricingError):
    code = "E104"


class NoPriceInCurrency(PricingError):
    code = "E105"


class InvalidTokens(PricingError):
    code = "E106"


class UnknownTokenType(PricingError):
    code = "E107"


class NotEffective(PricingError):
    code = "E108"


class InvalidArgument(PricingError):
    """A caller passed an argument of the wrong kind (a region that is not text, a date for a moment, ...)."""

    code = "E109"


class VariantNotPriced(PricingError):
    """A request names a variant the book does not know, two of one field, two that exclude each other, or one
    the model does not price in that region."""

    code = "E110"


class RecordError(RatecardError):
    """A usage record is malformed (a field is missing, not a number, ...)."""

    code = "E200"
