"""Placing usage records on a bill.

Takes a compiled `PriceBook` and validated usage records (or the clean rows of
a CSV file) and gives each record's `RatedRecord`: its billing cycle, its
offer (model in a region), its tier, and its tokens for all its requests. It
says why a record cannot be billed by raising `RecordError` or `PricingError`.
`billing.py` sums rated records into a bill.

Instants are integer microseconds since the epoch: exact, and far cheaper to
compare and bucket than aware datetimes.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Callable, Mapping, NamedTuple

from .errors import PricingError
from .moments import from_instant, instant_of
from .quote import find_offer, no_price_error, select_tier, table_at
from .records import REQUIRED, UsageRecord, to_record, token_fields

if TYPE_CHECKING:
    from .tables import Offer, PriceBook, Tier

CYCLE_SECONDS = {"hourly": 3600, "daily": 86400}
_NO_PRICES: Mapping = {}
_new_rated = tuple.__new__  # skips NamedTuple's Python-level __new__ on the per-record path


class RatedRecord(NamedTuple):
    """One record's place on the bill: its cycle, tier, and tokens of all its requests."""

    instant: int  # microseconds since the epoch: exact, and cheap to compare
    account: str
    offer: Offer
    tier: Tier
    cycle: int  # start of the billing cycle, in seconds since the epoch
    token_types: tuple[str, ...]
    totals: tuple[int, ...]  # tokens of each type, all requests together
    in_trial: bool
    order: tuple  # ties between records of one instant: request_id, region, model, token counts, requests

    @property
    def tokens(self) -> tuple[tuple[str, int], ...]:
        return tuple(zip(self.token_types, self.totals))

    @property
    def timestamp(self) -> datetime:
        return from_instant(self.instant)


class CsvLayout(NamedTuple):
    """Where each field sits in the rows of one CSV file."""

    timestamp: int
    account: int
    region: int
    model: int
    requests: int | None
    request_id: int | None
    token_indexes: tuple[int, ...]
    token_types: tuple[str, ...]

    @classmethod
    def of(cls, header: list[str]) -> CsvLayout | None:
        """The layout, or None when a required column is missing or a column is repeated."""
        columns = {name: index for index, name in enumerate(header)}
        if len(columns) != len(header) or any(name not in columns for name in REQUIRED):
            return None
        pairs = token_fields(header)
        return cls(columns["timestamp"], columns["account"], columns["region"], columns["model"],
                   columns.get("requests"), columns.get("request_id"), tuple(columns[n] for n, _ in pairs),
                   tuple(t for _, t in pairs))


class Rater:
    """Validates and places records for one book and currency.

    `rate` is the definition: every record can go through it, and it raises
    the error that says why a record cannot be billed. `rate_row` is the same
    placement for a clean CSV row, without building the intermediate record; it
    gives up (returns None) on anything unusual, and the caller then takes
    `rate`, so both always agree. Lookups that repeat from record to record are
    cached here.
    """

    def __init__(self, book: PriceBook, currency: str | None = None, assume_tz: tzinfo | None = None) -> None:
        self.book = book
        self.currency = currency or book.currency
        self.assume_tz = assume_tz
        self.cycle_seconds = CYCLE_SECONDS[book.cycle]
        self.zone_seconds = int(book.zone.utcoffset(None).total_seconds())
        self.trial_until = instant_of(book.trial.until) if book.trial else None
        self._minutes: dict[str, int] = {}  # timestamp text up to the minute, and its offset -> epoch seconds
        self._offers: dict[tuple[str, str], Offer | PricingError] = {}
        self._clean_offers: dict[tuple[str, str], Offer] = {}  # undated offers, for rate_row

    def offer(self, region: str, model: str) -> Offer:
        found = self._offers.get((region, model))
        if found is None:
            try:
                found = find_offer(self.book, region, model)
            except PricingError as error:
                found = error
            self._offers[(region, model)] = found
            if not isinstance(found, PricingError) and not found.dated:
                self._clean_offers[(region, model)] = found
        if isinstance(found, PricingError):
            raise found
        return found

    def cycle_of(self, instant: int) -> int:
        """The cycle start (epoch seconds) of an instant: cycles are whole hours or days of the book's zone."""
        local = instant // 1_000_000 + self.zone_seconds
        return local - local % self.cycle_seconds - self.zone_seconds

    def instant_of_text(self, text: str, moment: datetime) -> int:
        """`instant_of(moment)` for the text it was parsed from, cached per minute for the usual ISO shapes.

        Converting an aware datetime costs far more than a dict lookup, and
        records crowd into few minutes; `2026-05-01T10:23:45+08:00` and
        `2026-05-01T02:23:45Z` share their minute's epoch with every record of it.
        """
        if len(text) == 25 and text[19] in "+-" or len(text) == 20 and text[19] == "Z":
            if text[10] == "T" and text[16] == ":":
                key = text[:16] + text[19:]
                minute = self._minutes.get(key)
                if minute is None:
                    minute = self._minutes[key] = instant_of(moment.replace(second=0)) // 1_000_000
                return (minute + moment.second) * 1_000_000
        return instant_of(moment)

    def rate(self, record: UsageRecord) -> RatedRecord:
        offer = self.offer(record.region, record.model)
        table = table_at(self.book, offer, record.timestamp) if offer.dated else offer.tables[0]
        instant = instant_of(record.timestamp)
        selector = offer.selector
        tier = select_tier(table, offer, next((c for t, c in record.tokens if t == selector), 0))
        prices = tier.prices.get(self.currency, _NO_PRICES)
        kept = []
        for token_type, count in record.tokens:
            if token_type not in prices and token_type not in tier.not_billed:
                if count == 0 and token_type not in tier.token_types:
                    continue  # an empty column for a token type this model does not have
                raise no_price_error(self.book, offer, tier, token_type, self.currency)
            kept.append((token_type, count))
        token_types = tuple(t for t, _ in kept)
        counts = tuple(c for _, c in kept)
        requests = record.requests
        return RatedRecord(instant, record.account, offer, tier, self.cycle_of(instant),
                           token_types, tuple(c * requests for c in counts), self._in_trial(instant),
                           (record.request_id, record.region, record.model, token_types, counts, requests))

    def _in_trial(self, instant: int) -> bool:
        return self.trial_until is not None and instant < self.trial_until

    def accepts(self, tier: Tier, token_types: tuple[str, ...]) -> bool:
        """Does the tier price (or mark not billed) every one of these token types?"""
        prices = tier.prices.get(self.currency, _NO_PRICES)
        return all(t in prices or t in tier.not_billed for t in token_types)

    def row_rater(self, layout: CsvLayout) -> Callable[[list[str]], RatedRecord | None]:
        """`rate` for the clean rows of one CSV file: a function that places a row, or gives None.

        None sends the row through `rate`, which either bills it the same way
        or says why it cannot be billed. The function is a closure over the
        file's column positions because this is the loop a large bill spends
        its time in; each step it skips is measurable per million records.
        """
        (at_timestamp, at_account, at_region, at_model, at_requests, at_request_id, token_indexes,
         token_types) = layout
        offers, accepts, minutes, instant_of_text = self._clean_offers, self.accepts, self._minutes, \
            self.instant_of_text
        accepted: dict[Tier, bool] = {}  # this file's token types, per tier
        zone, cycle_seconds, trial_until = self.zone_seconds, self.cycle_seconds, self.trial_until
        fromisoformat = datetime.fromisoformat

        def rate_row(row: list[str]) -> RatedRecord | None:
            region, model = row[at_region], row[at_model]
            offer = offers.get((region, model))
            if offer is None:
                return None
            stamp = row[at_timestamp]
            minute = minutes.get(stamp[:16] + stamp[19:])
            if (minute is not None and len(stamp) in (20, 25) and stamp[16] == ":" and stamp[17:19].isdigit()
                    and stamp[17] < "6"):
                instant = (minute + int(stamp[17:19])) * 1_000_000  # the rest of this text was checked before
            else:
                try:
                    moment = fromisoformat(stamp)
                except ValueError:
                    return None
                if moment.tzinfo is None:
                    return None
                instant = instant_of_text(stamp, moment)
            counts = []
            for index in token_indexes:
                value = row[index]
                if not (value.isdigit() and value.isascii()):  # str.isdigit alone takes "²" and "٣"
                    return None
                counts.append(int(value))
            requests = 1
            if at_requests is not None:
                value = row[at_requests]
                if not (value.isdigit() and value.isascii()) or (requests := int(value)) < 1:
                    return None
            account = row[at_account].strip()
            if not account:
                return None
            selector = offer.selector
            table = offer.tables[0]
            index = bisect_left(table.uppers, counts[token_types.index(selector)] if selector in token_types else 0)
            if index == len(table.tiers):
                return None
            tier = table.tiers[index]
            ok = accepted.get(tier)
            if ok is None:
                ok = accepted[tier] = accepts(tier, token_types)
            if not ok:
                return None
            counts = tuple(counts)
            local = instant // 1_000_000 + zone
            return _new_rated(RatedRecord, (
                instant, account, offer, tier, local - local % cycle_seconds - zone, token_types,
                counts if requests == 1 else tuple([c * requests for c in counts]),
                trial_until is not None and instant < trial_until,
                (row[at_request_id] if at_request_id is not None else "", region, model, token_types, counts,
                 requests)))
        return rate_row


def rate(book: PriceBook, record: UsageRecord | Mapping, currency: str | None = None,
         assume_tz: tzinfo | None = None) -> RatedRecord:
    """Validate and place one record; raises `RecordError` or `PricingError` when it cannot be billed."""
    return Rater(book, currency, assume_tz).rate(to_record(record, assume_tz))
