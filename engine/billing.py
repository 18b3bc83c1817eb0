"""Usage records to a bill.

Takes a compiled `PriceBook` and usage records (raw file rows, dicts or
`UsageRecord`s), places each with `rating.py`, and gives a `Bill`: exact lines per billing cycle, account,
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

import sys
from bisect import insort
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, NamedTuple

import attrs

from .errors import PricingError, RatecardError, RecordError
from .moments import add_months, from_instant, instant_of
from .money import EXACT, ZERO, round_amount
from .quote import require_currency
from .rating import CYCLE_SECONDS, CsvLayout, RatedRecord, Rater
from .records import CsvUsage, RawRecord, Reject, UsageFiles, UsageRecord, to_record, token_fields

if TYPE_CHECKING:
    from .tables import PriceBook, Tier

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


class BillProgress(NamedTuple):
    """How far a bill has got, for a progress display: given to `bill(on_progress=...)` now and then."""

    phase: str  # "reading" (records are read and rated), then "billing" (lines and credits are made)
    records: int  # records read so far
    bytes_done: int  # bytes of usage files read so far
    bytes_total: int | None  # bytes of all usage files, or None when unknown (standard input)


class RecordRejected(RatecardError):
    """Raised in strict mode: the first record that could not be billed."""

    code = "E300"

    def __init__(self, reject: Reject) -> None:
        where = f"{reject.source}:{reject.line}" if reject.line else reject.source
        super().__init__(f"{where}: {reject.reason}", "fix the record, or bill without --strict to reject it")
        self.reject = reject


def bill(book: PriceBook, records: Iterable[RawRecord | Reject | UsageRecord | Mapping], currency: str | None = None,
         assume_tz: tzinfo | None = None, ledger: QuotaLedger | None = None,
         on_reject: Callable[[Reject], None] | None = None, strict: bool = False,
         on_progress: Callable[[int], None] | None = None) -> Bill:
    """Bill `records` (dicts, `UsageRecord`s, or `read_usage(paths)`).

    Rejects go to `on_reject` when given (and are not kept), else into
    `Bill.rejects`; `strict` raises `RecordRejected` at the first one.
    """
    currency = require_currency(book, currency or book.currency)
    run = _BillingRun(book, currency, assume_tz, ledger or QuotaLedger(), on_reject, strict, on_progress)
    if isinstance(records, UsageFiles):
        for usage_file in records.files:
            if isinstance(usage_file, CsvUsage):
                run.add_csv(usage_file)
            else:
                run.add_all(usage_file)
    else:
        run.add_all(records)
    return run.finish()


class _BillingRun:
    """One call of `bill`: counts, rejects, and the path each record takes to the biller."""

    def __init__(self, book: PriceBook, currency: str, assume_tz: tzinfo | None, ledger: QuotaLedger,
                 on_reject: Callable[[Reject], None] | None, strict: bool,
                 on_progress: Callable[[int], None] | None) -> None:
        self.rater = Rater(book, currency, assume_tz)
        self.biller = _Biller(book, currency, ledger)
        self.assume_tz = assume_tz
        self.kept: list[Reject] = []
        self.on_reject = on_reject or self.kept.append
        self.strict = strict
        self.on_progress = on_progress
        self.read = self.rejected = 0

    def reject(self, reject: Reject) -> None:
        self.rejected += 1
        if self.strict:
            raise RecordRejected(reject)
        self.on_reject(reject)

    def add(self, item: RawRecord | Reject | UsageRecord | Mapping) -> None:
        """The general path: any record, validated by `to_record` and placed by `Rater.rate`."""
        if isinstance(item, Reject):
            self.reject(item)
            return
        try:
            if isinstance(item, RawRecord):
                record = to_record(item.fields, self.assume_tz, item.token_fields)
            else:
                record = to_record(item, self.assume_tz)
            self.biller.add(self.rater.rate(record))
        except (RecordError, PricingError) as error:
            reason = error.message + (f" ({error.hint})" if error.hint else "")
            if isinstance(item, RawRecord):
                self.reject(Reject(item.source, item.line, item.original(), error.code, reason))
            else:
                self.reject(Reject("<records>", self.read, repr(item), error.code, reason))

    def add_all(self, records: Iterable) -> None:
        for item in records:
            self.read += 1
            self.add(item)
            if self.on_progress is not None and self.read % 100_000 == 0:
                self.on_progress(self.read)

    def add_csv(self, usage: CsvUsage) -> None:
        """A CSV file: clean rows take `Rater.rate_row`, the rest the general path."""
        with usage.open() as (header, reader):
            layout = CsvLayout.of(header)
            if layout is None:  # a missing or repeated column: every row will say which
                self.add_all(usage.records(header, reader))
                return
            width, fields = len(header), token_fields(header)
            rate_row, add = self.rater.row_rater(layout), self.biller.add
            for row in reader:
                if len(row) != width:
                    if row:
                        self.read += 1
                        self.reject(usage.width_reject(reader.line_num, row, width))
                    continue
                self.read += 1
                rated = rate_row(row)
                if rated is not None:
                    add(rated)
                else:
                    self.add(RawRecord(usage.source, reader.line_num, dict(zip(header, row)), None, fields))
                if self.on_progress is not None and self.read % 100_000 == 0:
                    self.on_progress(self.read)

    def finish(self) -> Bill:
        return self.biller.finish(self.read, self.read - self.rejected, self.rejected, tuple(self.kept))


class _QuotaPrefix:
    """An account's earliest records that can still earn free tokens, in billing order."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.entries: list[tuple] = []  # (order key, line key, consumable tokens, their sum)
        self.full = False  # the entries already hold at least `free` tokens

    @property
    def last_instant(self) -> int:
        return self.entries[-1][0][0]

    def offer(self, rated: RatedRecord, line_key: tuple, consumable: tuple[tuple[str, int], ...]) -> None:
        order = (rated.instant, *rated.order)
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
        # (cycle, account, offer, tier, token types) -> tokens of each type, summed
        self.usage: dict[tuple, list[int]] = {}
        self.trial: dict[tuple, list[int]] = {}
        self.first_seen: dict[str, int] = {}  # account -> instant of its earliest record
        self.prefixes: dict[str, _QuotaPrefix | None] = {}
        self.consumes = book.quota.consumes if book.quota else ()
        self._consumable: dict[tuple, tuple[tuple[int, str], ...]] = {}

    def add(self, rated: RatedRecord) -> None:
        instant, account, offer, tier, cycle, token_types, totals, in_trial, _ = rated
        key = (cycle, account, offer, tier, token_types)
        _add_counts(self.usage, key, totals)
        if in_trial:
            _add_counts(self.trial, key, totals)
        seen = self.first_seen.get(account)
        if seen is None or instant < seen:
            self.first_seen[account] = instant
        if self.consumes and not in_trial:
            prefix = self.prefixes.get(account, _NOT_YET)
            if prefix is _NOT_YET:
                prefix = self._new_prefix(account)
            if prefix is not None and not (prefix.full and instant > prefix.last_instant):
                self._offer_to_quota(prefix, rated, key[:4])

    def _new_prefix(self, account: str) -> _QuotaPrefix | None:
        before = self.ledger.get(account)
        free = self.book.quota.free_tokens - (before.consumed if before else 0)
        prefix = self.prefixes[account] = _QuotaPrefix(free) if free > 0 else None
        return prefix

    def _offer_to_quota(self, prefix: _QuotaPrefix, rated: RatedRecord, line_key: tuple) -> None:
        positions = self._consumable.get((rated.tier, rated.token_types))
        if positions is None:
            types = rated.token_types
            positions = tuple((types.index(t), t) for t in self.consumes
                              if t in types and t not in rated.tier.not_billed)
            self._consumable[(rated.tier, rated.token_types)] = positions
        consumable = tuple((t, rated.totals[i]) for i, t in positions if rated.totals[i])
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
            if before is not None:
                seen = min(seen, instant_of(before.first_use))
            first_use = from_instant(seen, self.book.zone)
            consumed = before.consumed if before else 0
            prefix = self.prefixes.get(account)
            if prefix is not None:
                window_end = instant_of(self._window_end(first_use))
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
        usage, trial = _by_line(self.usage), _by_line(self.trial)
        lines = []
        for line_key in sorted(usage, key=_line_order):
            cycle = datetime.fromtimestamp(line_key[0], self.book.zone)
            for token_type in _ordered_types(line_key[3], usage[line_key]):
                for kind, counts in (("usage", usage), ("quota", credits), ("trial", trial)):
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


def _add_counts(buckets: dict[tuple, list[int]], key: tuple, totals: tuple[int, ...]) -> None:
    bucket = buckets.get(key)
    if bucket is None:
        buckets[key] = list(totals)
    elif len(totals) == 2:  # input and output: the common case, without a loop
        bucket[0] += totals[0]
        bucket[1] += totals[1]
    else:
        for index, count in enumerate(totals):
            bucket[index] += count


def _by_line(buckets: dict[tuple, list[int]]) -> dict[tuple, dict[str, int]]:
    """(cycle, account, offer, tier) -> token type -> tokens, from buckets keyed by token types too."""
    lines: dict[tuple, dict[str, int]] = {}
    for (*line_key, token_types), counts in buckets.items():
        _add_tokens(lines, tuple(line_key), zip(token_types, counts))
    return lines


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
