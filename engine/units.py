"""Units: what a rate's price is for, and how usage counts it.

A data module (it imports no other stage). Tokens are the usual unit; a rate
may be priced in another one (`web_search 10 per 1K searches`, `image 0.04 per
image`), and then usage counts that meter in that unit, in a column named
after both (`web_search_searches`). A rate priced per request is a fee: usage
never counts it, each request counts one.

The list is closed on purpose: a unit the engine does not know is a typo
until proven otherwise, and every unit is counted in whole numbers of itself
(there is no `per hour` of audio counted in seconds: that division is not
exact in decimals).
"""

from __future__ import annotations

import attrs


@attrs.frozen(slots=True)
class Unit:
    singular: str
    plural: str

    @property
    def per_request(self) -> bool:
        """A fee: each request counts one, whatever the usage says."""
        return self == REQUESTS  # by value: a book read from the cache has its own Unit objects

    def label(self, size: int) -> str:
        """The pricing unit as a bill shows it: `token`, `1K tokens`, `1M tokens`, `10 searches`."""
        if size == 1:
            return self.singular
        for step, suffix in ((1_000_000, "M"), (1_000, "K")):
            if size % step == 0:
                return f"{size // step}{suffix} {self.plural}"
        return f"{size} {self.plural}"


TOKENS = Unit("token", "tokens")
REQUESTS = Unit("request", "requests")
UNITS = (
    TOKENS,
    REQUESTS,
    Unit("call", "calls"),
    Unit("search", "searches"),
    Unit("query", "queries"),
    Unit("image", "images"),
    Unit("page", "pages"),
    Unit("character", "characters"),
    Unit("message", "messages"),
    Unit("second", "seconds"),
    Unit("minute", "minutes"),
)
#: A unit by either of its words.
BY_WORD = {word: unit for unit in UNITS for word in (unit.singular, unit.plural)}
WORDS = tuple(BY_WORD)


def usage_column(meter: str, unit: Unit) -> str | None:
    """The usage column that counts `meter` (`input_tokens`, `web_search_searches`); None for a fee."""
    return None if unit.per_request else f"{meter}_{unit.plural}"


#: The fields every usage record has or may have; a variant field (`service_tier`) may not take one of their names.
RECORD_FIELDS = ("timestamp", "account", "region", "model", "requests", "request_id")
