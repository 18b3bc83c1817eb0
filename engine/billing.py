"""Usage records to a bill.

Takes a compiled `PriceBook` and usage records (raw file rows, dicts or
`UsageRecord`s) and gives a `Bill`: exact lines per billing cycle, account,
region, model, tier and token type, with the free quota and the free trial as
credit lines of their own, totals per currency, the rejects with their reasons,
and the record counts (`read = billed + rejected`).

How it stays exact and order-independent with memory that grows with the bill,
not the input:
- usage is summed as integer tokens per bill line; each line's amount is the
  exact per-token price times its tokens, computed once at the end (the same
  number as summing each record's exact amount, since the arithmetic is exact);
- the quota needs each account's records in timestamp order, but only the
  earliest ones that use up the free tokens can earn a credit, so each account
  keeps just that prefix (bounded by the quota size, not by the input);
- records with the same timestamp are ordered by request_id, region, model,
  token counts and requests, so the bill does not depend on input order.
"""

from __future__ import annotations

import math
import sys
from bisect import insort
from collections import defaultdict
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, NamedTuple

import attrs

from .errors import PricingError, RatecardError, RecordError
from .money import EXACT, ZERO, round_amount
from .moments import add_months
from .quote import _no_price, find_offer, select_tier, table_at
from .records import RawRecord, Reject, UsageRecord, to_record

if TYPE_CHECKING:
    from .tables import Offer, PriceBook, Tier

KINDS = ("usage", "quota", "trial")
CYCLE_SECONDS = {"hourly": 3600, "daily": 86400}


@attrs.frozen(slots=True)
class AccountQuota:
    first_use: datetime
    consumed: int  # free tokens used so far


@attrs.frozen(slots=True)
class QuotaLedger:
    """Each account's first use and free tokens consumed, carried from one bill to the next."""

    accounts: Mapping[str, AccountQuota] = attrs.field(factory=dict)

    def get(self, account: str) -> AccountQuota | None:
        return self.accounts.get(account)


@attrs.frozen(slots=True)
class BillLine:
    cycle_start: datetime
    cycle_end: datetime
    account: str
    region: str
    model: str
    tier: Tier
    token_type: str
    kind: str  # usage, quota or trial
    quantity: int  # tokens
    unit_price: Decimal  # per pricing unit, as written in the book
    pricing_unit: str
    amount: Decimal  # exact; credits are negative
    amount_rounded: Decimal
    currency: str
    billed: bool = True  # False for a token type the book marks `not billed`
    description: str = ""


@attrs.frozen(slots=True)
class Totals:
    currency: str
    list: Decimal
    credits: Decimal
    billed: Decimal
    list_rounded: Decimal
    credits_rounded: Decimal
    billed_rounded: Decimal


@attrs.frozen(slots=True)
class Bill:
    book: str
    currency: str
    lines: tuple[BillLine, ...]
    totals: Mapping[str, Totals]
    read: int
    billed: int
    rejected: int
    rejects: tuple[Reject, ...]  # empty when the caller streamed them elsewhere (on_reject)
    ledger: QuotaLedger


class RecordRejected(RatecardError):
    """Raised in strict mode: the first record that could not be billed."""

    code = "E300"

    def __init__(self, reject: Reject) -> None:
        where = f"{reject.source}:{reject.line}" if reject.line else reject.source
        super().__init__(f"{where}: {reject.reason}", "fix the record, or bill without --strict to reject it")
        self.reject = reject


class RatedRecord(NamedTuple):
    """One record's place on the bill: its cycle, tier, and tokens (all requests together)."""

    record: UsageRecord
    offer: Offer
    tier: Tier
    cycle: int  # start of the billing cycle, in seconds since the epoch
    tokens: tuple[tuple[str, int], ...]
    in_trial: bool


class Rater:
    """Validates and places records for one book and currency; the one path every record takes.

    Lookups that repeat from record to record (a region and model's offer,
    an error for an unknown one) are cached here, so billing a large file
    does not redo them.
    """

    def __init__(self, book: PriceBook, currency: str | None = None, assume_tz: tzinfo | None = None) -> None:
        self.book = book
        self.currency = currency or book.currency
        self.assume_tz = assume_tz
        self.cycle_seconds = CYCLE_SECONDS[book.cycle]
        self.zone_seconds = int(book.zone.utcoffset(None).total_seconds())
        self.trial_until = book.trial.until if book.trial else None
        self._offers: dict[tuple[str, str], Offer | PricingError] = {}

    def offer(self, region: str, model: str) -> Offer:
        found = self._offers.get((region, model))
        if found is None:
            try:
                found = find_offer(self.book, region, model)
            except PricingError as error:
                found = error
            self._offers[(region, model)] = found
        if isinstance(found, PricingError):
            raise found
        return found

    def cycle_of(self, moment: datetime) -> int:
        """The cycle start (epoch seconds) of `moment`: cycles are whole hours or days of the book's zone."""
        local = math.floor(moment.timestamp()) + self.zone_seconds
        return local - local % self.cycle_seconds - self.zone_seconds

    def rate(self, record: UsageRecord) -> RatedRecord:
        offer = self.offer(record.region, record.model)
        table = table_at(self.book, offer, record.timestamp) if offer.dated else offer.tables[0]
        selector = offer.selector
        tier = select_tier(table, offer, next((c for t, c in record.tokens if t == selector), 0))
        prices = tier.prices.get(self.currency, _NO_PRICES)
        requests = record.requests
        tokens = []
        for token_type, count in record.tokens:
            if token_type not in prices and token_type not in tier.not_billed:
                if count == 0 and token_type not in tier.token_types:
                    continue  # an empty column for a token type this model does not have
                raise _no_price(self.book, offer, tier, token_type, self.currency)
            tokens.append((token_type, count * requests))
        in_trial = self.trial_until is not None and record.timestamp < self.trial_until
        return RatedRecord(record, offer, tier, self.cycle_of(record.timestamp), tuple(tokens), in_trial)


def rate(book: PriceBook, record: UsageRecord | Mapping, currency: str | None = None,
         assume_tz: tzinfo | None = None) -> RatedRecord:
    """Validate and place one record; raises `RecordError` or `PricingError` when it cannot be billed."""
    return Rater(book, currency, assume_tz).rate(to_record(record, assume_tz))


def bill(book: PriceBook, records: Iterable[RawRecord | Reject | UsageRecord | Mapping], currency: str | None = None,
         assume_tz: tzinfo | None = None, ledger: QuotaLedger | None = None,
         on_reject: Callable[[Reject], None] | None = None, strict: bool = False,
         on_progress: Callable[[int], None] | None = None) -> Bill:
    """Bill `records`. Rejects go to `on_reject` when given (and are not kept), else into `Bill.rejects`."""
    currency = currency or book.currency
    if currency not in book.currencies:
        raise PricingError(f"{book.name} has no prices in {currency!r}", "it prices in " + ", ".join(book.currencies))
    rater = Rater(book, currency, assume_tz)
    biller = _Biller(book, currency, ledger or QuotaLedger())
    kept: list[Reject] = []
    read = rejected = 0
    for item in records:
        read += 1
        try:
            if isinstance(item, RawRecord):
                biller.add(rater.rate(to_record(item.fields, assume_tz, item.token_fields)))
            elif isinstance(item, Reject):
                raise _Rejected(item)
            else:
                biller.add(rater.rate(to_record(item, assume_tz)))
        except (RecordError, PricingError, _Rejected) as error:
            reject = _reject(item, error)
            rejected += 1
            if strict:
                raise RecordRejected(reject) from None
            (on_reject or kept.append)(reject)
        if on_progress is not None and read % 100_000 == 0:
            on_progress(read)
    return biller.finish(read, read - rejected, rejected, tuple(kept))


class _Rejected(Exception):
    """A reader's reject passing through the billing loop."""

    def __init__(self, reject: Reject) -> None:
        self.reject = reject


def _reject(item, error: Exception) -> Reject:
    if isinstance(error, _Rejected):
        return error.reject
    reason = error.message + (f" ({error.hint})" if error.hint else "")
    if isinstance(item, RawRecord):
        return Reject(item.source, item.line, item.original(), error.code, reason)
    return Reject("<records>", 0, repr(item), error.code, reason)


class _QuotaPrefix:
    """An account's earliest records that can still earn free tokens, in billing order."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.entries: list[tuple] = []  # (order key, line key, consumable tokens, their sum)
        self.full = False  # the entries already hold at least `free` tokens

    def offer(self, rated: RatedRecord, line_key: tuple, consumable: tuple[tuple[str, int], ...]) -> None:
        record = rated.record
        if self.full and record.timestamp > self.entries[-1][0][0]:
            return
        order = (record.timestamp, record.request_id, record.region, record.model, record.tokens, record.requests)
        if self.full and order >= self.entries[-1][0]:
            return
        insort(self.entries, (order, line_key, consumable, sum(count for _, count in consumable)))
        total = 0
        for index, entry in enumerate(self.entries):
            total += entry[3]
            if total >= self.free:
                del self.entries[index + 1:]
                self.full = True
                return


class _Biller:
    def __init__(self, book: PriceBook, currency: str, ledger: QuotaLedger) -> None:
        self.book = book
        self.currency = currency
        self.ledger = ledger
        self.usage: dict[tuple, dict[str, int]] = {}  # line key -> token type -> tokens
        self.trial: dict[tuple, dict[str, int]] = {}
        self.first_seen: dict[str, datetime] = {}
        self.prefixes: dict[str, _QuotaPrefix | None] = {}
        self.consumes = book.quota.consumes if book.quota else ()

    def add(self, rated: RatedRecord) -> None:
        record = rated.record
        account = record.account
        line_key = (rated.cycle, account, rated.offer, rated.tier)
        _add_tokens(self.usage, line_key, rated.tokens)
        if rated.in_trial:
            _add_tokens(self.trial, line_key, rated.tokens)
        seen = self.first_seen.get(account)
        if seen is None or record.timestamp < seen:
            self.first_seen[account] = record.timestamp
        if self.consumes and not rated.in_trial:
            self._offer_to_quota(rated, line_key)

    def _offer_to_quota(self, rated: RatedRecord, line_key: tuple) -> None:
        account = rated.record.account
        prefix = self.prefixes.get(account, _NOT_YET)
        if prefix is _NOT_YET:
            before = self.ledger.get(account)
            free = self.book.quota.free_tokens - (before.consumed if before else 0)
            prefix = self.prefixes[account] = _QuotaPrefix(free) if free > 0 else None
        if prefix is None:
            return
        tokens = dict(rated.tokens)
        consumable = tuple((t, tokens[t]) for t in self.consumes if tokens.get(t) and t not in rated.tier.not_billed)
        if consumable:
            prefix.offer(rated, line_key, consumable)

    # -- the end: credits, lines, totals ------------------------------------

    def _window_end(self, first_use: datetime) -> datetime:
        quota = self.book.quota
        if quota.window_unit == "months":
            return add_months(first_use, quota.window_length)
        return first_use + timedelta(days=quota.window_length)

    def _quota_credits(self) -> tuple[dict[tuple, dict[str, int]], dict[str, AccountQuota]]:
        credits: dict[tuple, dict[str, int]] = {}
        accounts = dict(self.ledger.accounts)
        for account, seen in self.first_seen.items():
            before = accounts.get(account)
            first_use = (min(seen, before.first_use) if before else seen).astimezone(self.book.zone)
            consumed = before.consumed if before else 0
            prefix = self.prefixes.get(account)
            if prefix is not None:
                window_end = self._window_end(first_use)
                remaining = prefix.free
                for order, line_key, consumable, _ in prefix.entries:
                    if order[0] >= window_end or remaining == 0:
                        break
                    for token_type, count in consumable:
                        take = min(remaining, count)
                        if take:
                            _add_tokens(credits, line_key, ((token_type, take),))
                            remaining -= take
                consumed += prefix.free - remaining
            if self.book.quota is not None:
                accounts[account] = AccountQuota(first_use, consumed)
        return credits, accounts

    def finish(self, read: int, billed: int, rejected: int, rejects: tuple[Reject, ...]) -> Bill:
        credits, accounts = self._quota_credits()
        lines = []
        for line_key in sorted(self.usage, key=_line_order):
            cycle = datetime.fromtimestamp(line_key[0], self.book.zone)
            for token_type in _ordered_types(line_key[3], self.usage[line_key]):
                for kind, counts in (("usage", self.usage), ("quota", credits), ("trial", self.trial)):
                    tokens = counts.get(line_key, _NO_PRICES).get(token_type)
                    if tokens or (kind == "usage" and tokens is not None):
                        lines.append(self._line(cycle, line_key, token_type, kind, tokens))
        return Bill(self.book.name, self.currency, tuple(lines), {self.currency: self._totals(lines)}, read,
                    billed, rejected, rejects, QuotaLedger(accounts))

    def _line(self, cycle: datetime, line_key: tuple, token_type: str, kind: str, tokens: int) -> BillLine:
        _, account, offer, tier = line_key
        book = self.book
        price = tier.prices.get(self.currency, _NO_PRICES).get(token_type)
        unit_price, amount = (price.per_unit, EXACT.multiply(price.per_token, tokens)) if price else (ZERO, ZERO)
        if kind != "usage":
            amount = -amount
        description = {"usage": f"{offer.model} {token_type} tokens, tier {tier.label}",
                       "quota": book.quota.title if book.quota else "",
                       "trial": book.trial.reason if book.trial else ""}[kind]
        end = cycle + timedelta(seconds=CYCLE_SECONDS[book.cycle])
        return BillLine(cycle, end, account, offer.region.id, offer.model, tier, token_type, kind, tokens,
                        unit_price, book.unit_label, amount, round_amount(amount, book.quantum, book.round_mode),
                        self.currency, price is not None, description)

    def _totals(self, lines: list[BillLine]) -> Totals:
        listed = sum((line.amount for line in lines if line.kind == "usage"), ZERO)
        credited = sum((line.amount for line in lines if line.kind != "usage"), ZERO)
        billed = listed + credited
        book = self.book
        return Totals(self.currency, listed, credited, billed,
                      *(round_amount(a, book.quantum, book.round_mode) for a in (listed, credited, billed)))


_NO_PRICES: Mapping = {}
_NOT_YET = object()


def _add_tokens(counts: dict[tuple, dict[str, int]], line_key: tuple, tokens: Iterable[tuple[str, int]]) -> None:
    bucket = counts.get(line_key)
    if bucket is None:
        bucket = counts[line_key] = {}
    for token_type, count in tokens:
        bucket[token_type] = bucket.get(token_type, 0) + count


def _line_order(line_key: tuple):
    cycle, account, offer, tier = line_key
    return (cycle, account, offer.region.id, offer.model, tier.index, tier.span.line)


def _ordered_types(tier: Tier, counts: Mapping[str, int]) -> list[str]:
    """The tier's token types in book order, then any others by name."""
    return [t for t in tier.token_types if t in counts] + sorted(t for t in counts if t not in tier.token_types)


def progress_printer(stream=sys.stderr) -> Callable[[int], None] | None:
    """A progress line on stderr when it is a terminal, else nothing."""
    if not stream.isatty():
        return None

    def show(count: int) -> None:
        stream.write(f"\rratecard: {count:,} records read")
        stream.flush()
    return show
