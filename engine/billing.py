"""Usage records to a bill.

Takes a compiled `PriceBook` and usage records (`read_usage(paths)`, dicts or
`UsageRecord`s), places each with `rating.py`, and gives a `Bill`: exact lines
per account, billing cycle, region, model, tier and token type, with the free
quota and the free trial as credit lines of their own, totals per account and
overall, the rejects with their reasons, and the record counts
(`read = billed + rejected`).

How it stays exact and order-independent with memory that grows with the bill,
not the input:
- usage is summed as integer tokens per bill line; each line's amount is the
  exact per-token price times its tokens, computed when asked for (the same
  number as summing each record's exact amount, since the arithmetic is exact);
- the quota needs each account's records in timestamp order, but only the
  earliest ones that use up the free tokens can earn a credit, so each account
  keeps just that prefix (bounded by the quota size, not by the input), with a
  running total so that keeping it costs no more than a sorted insert;
- records with the same timestamp are ordered by request_id, region, model,
  token counts and requests, so the bill does not depend on input order;
- a repeated `request_id` is billed once: the first occurrence read is billed,
  later ones are rejected as duplicates (E207), within one call of `bill`
  (so memory also follows the number of distinct request_ids: each is kept).

Rounding: each account's totals are its exact totals rounded as the book says
(billed, and list; credits are billed minus list, so the three add up), and
its rounded line amounts are allocated to add up to them exactly: every line
is rounded on its own, then the difference is spread one unit at a time over
the lines whose rounding moved them furthest the other way (the largest
remainder method). The overall rounded totals are the sums of the accounts'.
"""

from __future__ import annotations

import itertools
from operator import itemgetter
from bisect import insort
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence

import attrs

from .errors import InvalidArgument, PricingError, RatecardError, RecordError
from .moments import add_months, from_instant, instant_of
from .money import EXACT, ZERO, exact_sum, round_amount
from .rating import CYCLE_SECONDS, RatedRecord, Rater, TokenColumns
from .records import (
    DuplicateRequest,
    RawRecord,
    Reject,
    UsageFiles,
    UsageInput,
    UsageRecord,
    csv_rows,
    json_record,
    shown,
)
from .source import Span
from .tables import NO_PRICES, Offer, PriceBook, Quota, Tier, UnitPrice

PROGRESS_EVERY = 8192  # records (or lines) between two calls of `on_progress`
_new_tuple = tuple.__new__  # skips a NamedTuple's Python-level __new__: bill lines and quota entries are many


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
class LineContext:
    """What every line of one bill shares: kept once per bill, not once per line."""

    currency: str
    pricing_unit: str
    quantum: Decimal
    round_mode: str
    cycle_seconds: int
    quota_title: str
    trial_reason: str
    quota_span: Span | None = None  # where the book states its quota: what a quota line points at
    trial_span: Span | None = None  # and its trial
    unit_size: int = 1  # tokens in the book's pricing unit


class BillLine(NamedTuple):
    """One line of a bill. Small on purpose (a bill may hold millions): amounts are computed when read.
    A named tuple rather than an attrs class because a bill builds millions of them, and a tuple is
    several times cheaper to create."""

    cycle_start: datetime
    account: str
    offer: Offer
    tier: Tier
    token_type: str
    kind: str  # usage, quota or trial
    quantity: int  # tokens, or what the rate's own unit counts
    price: UnitPrice | None  # None for a token type the book marks `not billed`
    context: LineContext
    adjustment: int = 0  # quanta added to this line's own rounding, so that the lines add up to the totals

    def __repr__(self) -> str:
        return (f"BillLine({self.cycle_start.isoformat()} {self.account!r} {self.region} {self.model} "
                f"tier {self.tier.index} {self.token_type} {self.kind} {self.quantity} {self.unit}: "
                f"{self.currency} {self.amount})")

    @property
    def cycle_end(self) -> datetime:
        return self.cycle_start + timedelta(seconds=self.context.cycle_seconds)

    @property
    def region(self) -> str:
        return self.offer.region.id

    @property
    def model(self) -> str:
        return self.offer.model

    @property
    def billed(self) -> bool:
        return self.price is not None

    @property
    def unit_price(self) -> Decimal:
        """Per pricing unit, as written in the book."""
        return self.price.per_unit if self.price is not None else ZERO

    @property
    def pricing_unit(self) -> str:
        """What `unit_price` is for: `1M tokens`, or the rate's own unit (`1K searches`)."""
        rate_unit = self.tier.rate_units.get(self.token_type)
        return self.context.pricing_unit if rate_unit is None else rate_unit.label

    @property
    def pricing_size(self) -> int:
        """How many of `unit` the price is for: 1000000 for `1M tokens`."""
        rate_unit = self.tier.rate_units.get(self.token_type)
        return self.context.unit_size if rate_unit is None else rate_unit.size

    @property
    def unit(self) -> str:
        """What `quantity` counts: tokens, or the rate's own unit (searches, requests, ...)."""
        rate_unit = self.tier.rate_units.get(self.token_type)
        return "tokens" if rate_unit is None else rate_unit.unit.plural

    @property
    def currency(self) -> str:
        return self.context.currency

    @property
    def amount(self) -> Decimal:
        """Exact; credits are negative."""
        if self.price is None:
            return ZERO
        amount = EXACT.multiply(self.price.per_token, self.quantity)
        return amount if self.kind == "usage" else EXACT.minus(amount)

    @property
    def amount_rounded(self) -> Decimal:
        """Rounded as the book says, then adjusted so that the lines add up to the rounded totals."""
        return self.rounded(self.amount)

    def rounded(self, amount: Decimal) -> Decimal:
        """`amount_rounded`, given this line's `amount` (for writers that have it already)."""
        context = self.context
        rounded = round_amount(amount, context.quantum, context.round_mode)
        if self.adjustment:
            rounded = EXACT.add(rounded, EXACT.multiply(context.quantum, self.adjustment))
        return rounded if rounded else rounded.copy_abs()  # a tiny credit rounds to 0.000000, not -0.000000

    @property
    def source(self) -> Span:
        """Where the book states what priced the line: the rate's cell (`input 0.000480`) for usage, the quota or
        the trial statement for a credit."""
        if self.kind == "quota":
            return self.context.quota_span
        if self.kind == "trial":
            return self.context.trial_span
        return self.tier.rate_span(self.token_type, self.context.currency)

    @property
    def description(self) -> str:
        if self.kind == "quota":
            return self.context.quota_title
        if self.kind == "trial":
            return self.context.trial_reason
        counted = "fee" if self.token_type in self.tier.fees else self.unit
        variant = "".join(f", {name}" for name in self.offer.variant)
        return f"{self.offer.model} {self.token_type} {counted}, tier {self.tier.label}{variant}"


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
    lines: Sequence[BillLine]  # by account, then cycle, region, model, tier, token type, kind (a tuple, or the
    # SQL engines' lines, read from the engine as they are iterated)
    totals: Mapping[str, Totals]  # by currency: the whole bill
    accounts: Mapping[str, Totals]  # by account
    read: int
    billed: int
    rejected: int
    rejects: tuple[Reject, ...]  # empty when the caller streamed them elsewhere (on_reject)
    ledger: QuotaLedger


class BillProgress(NamedTuple):
    """How far a bill has got, for a progress display: given to `bill(on_progress=...)` now and then."""

    phase: str  # "reading" (records are read and rated), then "billing" (lines and credits are made)
    records: int  # records read so far
    done: int  # reading: bytes of usage files read so far; billing: accounts whose lines are made
    total: int | None  # reading: bytes of all usage files (None on standard input); billing: accounts in all


class RecordRejected(RatecardError):
    """Raised in strict mode: the first record that could not be billed."""

    code = "E300"

    def __init__(self, reject: Reject) -> None:
        where = f"{reject.source}:{reject.line}" if reject.line else reject.source
        super().__init__(f"{where}: {reject.reason}", "fix the record, or bill without --strict to reject it")
        self.reject = reject


def bill(book: PriceBook, records: Iterable[UsageRecord | Mapping] | UsageFiles, currency: str | None = None,
         assume_tz: tzinfo | None = None, ledger: QuotaLedger | None = None,
         on_reject: Callable[[Reject], None] | None = None, strict: bool = False,
         on_progress: Callable[[BillProgress], None] | None = None) -> Bill:
    """Bill `records` (dicts, `UsageRecord`s, or `read_usage(paths)`).

    Rejects go to `on_reject` when given (and are not kept), else into
    `Bill.rejects`; `strict` raises `RecordRejected` at the first one.
    `on_progress` is called with a `BillProgress` every few thousand records
    and lines. A usage file whose header cannot be billed raises
    `UsageFileError` before any record is billed.
    """
    _check_bill_arguments(records, assume_tz, ledger, on_reject, on_progress)
    run = _BillingRun(Rater(book, currency, assume_tz), ledger or QuotaLedger(), on_reject, strict, on_progress)
    if isinstance(records, UsageFiles):
        run.add_files(records)
    else:
        run.add_records(records, "<records>")
    return run.finish()


def reject_of(error: RatecardError, source: str, line: int, text: str) -> Reject:
    """The reject a record is when `error` says why it cannot be billed: its code, message and hint."""
    return Reject(source, line, text, error.code, error.message + (f" ({error.hint})" if error.hint else ""))


def duplicate_request(request_id: str) -> DuplicateRequest:
    return DuplicateRequest(f"request_id '{shown(request_id, 80)}' was billed already in this run",
                            "a repeated request_id is billed once: the first one read")


def line_context(book: PriceBook, currency: str) -> LineContext:
    """What every line of a bill in `currency` shares."""
    quota, trial = book.quota, book.trial
    return LineContext(currency, book.unit_label, book.quantum, book.round_mode, CYCLE_SECONDS[book.cycle],
                       quota.title if quota else "", trial.reason if trial else "", quota.span if quota else None,
                       trial.span if trial else None, book.unit_tokens)


def quota_window_end(quota: Quota, first_use: datetime) -> datetime:
    """When an account's free quota ends: its window after the account's first use."""
    if quota.window_unit == "months":
        return add_months(first_use, quota.window_length)
    return first_use + timedelta(days=quota.window_length)


def _check_bill_arguments(records, assume_tz, ledger, on_reject, on_progress) -> None:
    if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Iterable):
        raise InvalidArgument(f"records must be an iterable of usage records, not {type(records).__name__}",
                              "pass a list of dicts, or ratecard.records.read_usage(paths)")
    if assume_tz is not None and not isinstance(assume_tz, tzinfo):
        raise InvalidArgument(f"assume_tz must be a tzinfo, not {assume_tz!r}", "pass timezone(timedelta(hours=8))")
    if ledger is not None and not isinstance(ledger, QuotaLedger):
        raise InvalidArgument(f"ledger must be a QuotaLedger, not {type(ledger).__name__}",
                              "pass the ledger of the previous bill: previous.ledger")
    for name, value in (("on_reject", on_reject), ("on_progress", on_progress)):
        if value is not None and not callable(value):
            raise InvalidArgument(f"{name} must be callable, not {value!r}", "pass a function, or None")


class _BillingRun:
    """One call of `bill`: counts, rejects, duplicates, progress, and the path from each input to the biller."""

    def __init__(self, rater: Rater, ledger: QuotaLedger, on_reject: Callable[[Reject], None] | None, strict: bool,
                 on_progress: Callable[[BillProgress], None] | None) -> None:
        self.rater = rater
        self.biller = _Biller(rater.book, rater.currency, ledger)
        self.kept: list[Reject] = []
        self.on_reject = on_reject or self.kept.append
        self.strict = strict
        self.on_progress = on_progress
        self.files: UsageFiles | None = None
        self.read = self.rejected = 0

    def reject(self, reject: Reject) -> None:
        self.rejected += 1
        if self.strict:
            raise RecordRejected(reject)
        self.on_reject(reject)

    def refuse(self, error: RatecardError, source: str, line: int, text: str) -> None:
        self.reject(reject_of(error, source, line, text))

    def add_records(self, records: Iterable, source: str) -> None:
        """Dicts and `UsageRecord`s from code (a reject's line is the record's number), or the `RawRecord`s and
        `Reject`s of iterating `read_usage(paths)`."""
        rate = self.rater.rate
        for item in records:
            self.read += 1
            if isinstance(item, Reject):
                self.reject(item)
                continue
            raw = isinstance(item, RawRecord)
            try:
                self.biller.add(rate(item.fields if raw else item))
            except (RecordError, PricingError) as error:
                if raw:
                    self.refuse(error, item.source, item.line, shown(item.text))
                else:
                    self.refuse(error, source, self.read, shown(repr(item)))
            self.progress()

    def add_files(self, files: UsageFiles) -> None:
        self.files = files
        for usage in files.inputs:
            usage.refuse_parquet()
        files.check_headers(self.rater.meters)
        for usage in files.inputs:
            usage.bytes_read = 0
            if usage.sniff() == "jsonl":
                self.add_json_lines(usage)
            else:
                self.add_csv(usage)

    def add_json_lines(self, usage: UsageInput) -> None:
        rate = self.rater.rate
        for line in usage.lines():
            item = json_record(usage, line)
            number, text, _ = line
            if item is None:
                continue
            self.read += 1
            if isinstance(item, Reject):
                self.reject(item)
            else:
                try:
                    self.biller.add(rate(item.fields))
                except (RecordError, PricingError) as error:
                    self.refuse(error, usage.source, number, shown(text))
            self.progress()

    def add_csv(self, usage: UsageInput) -> None:
        """A CSV input: each row's values, picked by position, go through the same `Rater.rate_fields`."""
        layout, lines = usage.csv_lines(self.rater.meters)
        at_timestamp, at_account, at_region, at_model = layout.timestamp, layout.account, layout.region, layout.model
        at_requests, at_request_id, token_indexes = layout.requests, layout.request_id, layout.token_indexes
        variant_indexes = layout.variant_indexes if any(i is not None for i in layout.variant_indexes) else None
        columns = TokenColumns.of(layout.token_types, False, self.rater.meters)
        rate_fields, source = self.rater.rate_fields, usage.source
        token_values = itemgetter(*token_indexes) if len(token_indexes) > 1 else lambda row: (row[token_indexes[0]],)
        add = self.biller.add
        for number, text, row, reject in csv_rows(usage, lines, layout):
            self.read += 1
            if reject is not None:
                self.reject(reject)
            else:
                try:
                    add(rate_fields(row[at_timestamp], row[at_account], row[at_region], row[at_model], columns,
                                    token_values(row), None if at_requests is None else row[at_requests],
                                    None if at_request_id is None else row[at_request_id],
                                    () if variant_indexes is None else _variant_row(row, variant_indexes)))
                except (RecordError, PricingError) as error:
                    self.refuse(error, source, number, shown(text))
            if not self.read % PROGRESS_EVERY:
                self.progress()

    def progress(self) -> None:
        if self.on_progress is not None and not self.read % PROGRESS_EVERY:
            files = self.files
            self.on_progress(BillProgress("reading", self.read, files.bytes_read if files else 0,
                                          files.bytes_total if files else None))

    def finish(self) -> Bill:
        report = None
        if self.on_progress is not None:
            files, on_progress, read = self.files, self.on_progress, self.read
            if files is not None:
                on_progress(BillProgress("reading", read, files.bytes_read, files.bytes_total))

            def report(done: int, total: int) -> None:
                on_progress(BillProgress("billing", read, done, total))
        return self.biller.finish(self.read, self.read - self.rejected, self.rejected, tuple(self.kept), report)


class QuotaEntry(NamedTuple):
    order: tuple  # (instant, *RatedRecord.order): the billing order
    line_key: LineKey
    consumable: tuple[tuple[str, int], ...]  # (token type, tokens) in the order the quota consumes them
    tokens: int  # their sum


class _QuotaPrefix:
    """An account's earliest records that can still earn free tokens, in billing order, with their running total."""

    __slots__ = ("free", "entries", "total", "full", "last_instant")

    def __init__(self, free: int) -> None:
        self.free = free
        self.entries: list[QuotaEntry] = []
        self.total = 0  # tokens of all entries
        self.full = False  # the entries hold at least `free` tokens: later records earn nothing
        self.last_instant = 0  # of the last entry, once full: a later record cannot earn anything

    def offer(self, entry: QuotaEntry) -> None:
        entries = self.entries
        if self.full and entry.order >= entries[-1].order:
            return
        insort(entries, entry, key=_entry_order)
        self.total += entry.tokens
        if self.total >= self.free:
            self.full = True
            while self.total - entries[-1].tokens >= self.free:  # the last entry is no longer needed
                self.total -= entries.pop().tokens
            self.last_instant = entries[-1].order[0]


def _entry_order(entry: QuotaEntry) -> tuple:
    return entry.order


class LineKey(NamedTuple):
    """What one bill line is for, less its token type and kind."""

    cycle: int  # epoch seconds of the cycle's start
    offer: Offer
    tier: Tier


class _Account:
    """What the biller keeps for one account while records come in."""

    __slots__ = ("usage", "trial", "first_seen", "prefix")

    def __init__(self, first_seen: int, prefix: _QuotaPrefix | None) -> None:
        self.usage: dict[tuple, list[int]] = {}  # (cycle, offer, tier, token types) -> tokens of each type
        self.trial: dict[tuple, list[int]] = {}  # the same, for usage inside the free trial
        self.first_seen = first_seen  # instant of its earliest record
        self.prefix = prefix  # None: no quota, or none left


class _Biller:
    def __init__(self, book: PriceBook, currency: str, ledger: QuotaLedger) -> None:
        self.book = book
        self.currency = currency
        self.ledger = ledger
        self.accounts: dict[str, _Account] = {}
        self.request_ids: set[str] = set()  # of the records billed so far
        self.consumes = book.quota.consumes if book.quota else ()
        self._consumable: dict[tuple, tuple[tuple[int, str], ...]] = {}

    def add(self, rated: RatedRecord) -> None:
        """A rated record onto the bill; `DuplicateRequest` when its request_id was billed already."""
        instant, account, offer, tier, cycle, token_types, totals, in_trial, request_id, _ = rated
        if request_id:
            if request_id in self.request_ids:
                raise duplicate_request(request_id)
            self.request_ids.add(request_id)
        state = self.accounts.get(account) or self._new_account(account, instant)
        key = (cycle, offer, tier, token_types)
        _add_counts(state.usage, key, totals)
        if in_trial:
            _add_counts(state.trial, key, totals)
        else:
            prefix = state.prefix
            if prefix is not None and not (prefix.full and instant > prefix.last_instant):
                self._offer_to_quota(prefix, rated, LineKey(cycle, offer, tier))
        if instant < state.first_seen:
            state.first_seen = instant

    def _new_account(self, account: str, instant: int) -> _Account:
        prefix = None
        if self.consumes:
            before = self.ledger.get(account)
            free = self.book.quota.free_tokens - (before.consumed if before else 0)
            prefix = _QuotaPrefix(free) if free > 0 else None
        state = self.accounts[account] = _Account(instant, prefix)
        return state

    def _offer_to_quota(self, prefix: _QuotaPrefix, rated: RatedRecord, line_key: LineKey) -> None:
        positions = self._consumable.get((rated.tier, rated.token_types))
        if positions is None:
            types = rated.token_types
            positions = tuple((types.index(t), t) for t in self.consumes
                              if t in types and t not in rated.tier.not_billed)
            self._consumable[(rated.tier, rated.token_types)] = positions
        consumable = tuple((t, rated.totals[i]) for i, t in positions if rated.totals[i])
        if consumable:
            prefix.offer(_new_tuple(QuotaEntry, ((rated.instant, *rated.order), line_key, consumable,
                                                 sum([count for _, count in consumable]))))

    # -- the end: credits, lines, totals ------------------------------------

    def _quota_credits(self) -> tuple[dict[str, dict[LineKey, dict[str, int]]], dict[str, AccountQuota]]:
        credits: dict[str, dict[LineKey, dict[str, int]]] = {}
        accounts = dict(self.ledger.accounts)
        for account, state in self.accounts.items():
            seen, before = state.first_seen, accounts.get(account)
            if before is not None:
                seen = min(seen, instant_of(before.first_use))
            first_use = from_instant(seen, self.book.zone)
            consumed = before.consumed if before else 0
            prefix = state.prefix
            if prefix is not None:
                window_end = instant_of(quota_window_end(self.book.quota, first_use))
                remaining = prefix.free
                account_credits = credits.setdefault(account, {})
                for entry in prefix.entries:
                    if entry.order[0] >= window_end or remaining == 0:
                        break
                    for token_type, count in entry.consumable:
                        take = min(remaining, count)
                        if take:
                            _add_tokens(account_credits, entry.line_key, ((token_type, take),))
                            remaining -= take
                consumed += prefix.free - remaining
            if self.book.quota is not None:
                accounts[account] = AccountQuota(first_use, consumed)
        return credits, accounts

    def finish(self, read: int, billed: int, rejected: int, rejects: tuple[Reject, ...],
               report: Callable[[int, int], None] | None = None) -> Bill:
        credits, ledger = self._quota_credits()
        book = self.book
        context = line_context(book, self.currency)
        cycles: dict[int, datetime] = {}
        lines: list[BillLine] = []
        accounts: dict[str, Totals] = {}
        accounts_total = len(self.accounts)
        for account in sorted(self.accounts):
            state = self.accounts.pop(account)
            usage, trial = _by_line(state.usage), _by_line(state.trial)
            account_credits = credits.pop(account, {})
            made = []
            for line_key in sorted(usage, key=_line_order):
                cycle = cycles.get(line_key.cycle)
                if cycle is None:
                    cycle = cycles[line_key.cycle] = datetime.fromtimestamp(line_key.cycle, book.zone)
                offer, tier = line_key.offer, line_key.tier
                prices = tier.prices.get(self.currency, NO_PRICES)
                used = usage[line_key]
                kinds = [("usage", used)] + [(kind, counts[line_key]) for kind, counts in
                                             (("quota", account_credits), ("trial", trial)) if line_key in counts]
                for token_type in _ordered_types(tier, used):
                    for kind, counts in kinds:
                        tokens = counts.get(token_type)
                        if tokens or (tokens is not None and kind == "usage"):
                            made.append(_new_tuple(BillLine, (cycle, account, offer, tier, token_type, kind, tokens,
                                                              prices.get(token_type), context, 0)))
            made, accounts[account] = allocate(book, self.currency, made)
            lines += made
            if report is not None and (not len(accounts) % 256 or len(accounts) == accounts_total):
                report(len(accounts), accounts_total)
        totals = bill_totals(book, self.currency, accounts)
        return Bill(book.name, self.currency, tuple(lines), {self.currency: totals}, accounts, read, billed,
                    rejected, rejects, QuotaLedger(ledger))

def allocate(book: PriceBook, currency: str, lines: list[BillLine]) -> tuple[list[BillLine], Totals]:
    """An account's totals, and its lines with the rounding adjustments that make them add up to them."""
    amounts = [line.amount for line in lines]
    totals = account_totals(book, currency, exact_sum(a for a, line in zip(amounts, lines) if line.kind == "usage"),
                            exact_sum(a for a, line in zip(amounts, lines) if line.kind != "usage"))
    adjustments = [0] * len(lines)
    for is_usage, target in ((True, totals.list_rounded), (False, totals.credits_rounded)):
        positions = [i for i, line in enumerate(lines) if (line.kind == "usage") == is_usage]
        for position, step in largest_remainder([amounts[i] for i in positions], target, book.quantum,
                                                book.round_mode):
            adjustments[positions[position]] += step
    adjusted = [line._replace(adjustment=step) if step else line for line, step in zip(lines, adjustments)]
    return adjusted, totals


def account_totals(book: PriceBook, currency: str, listed: Decimal, credited: Decimal) -> Totals:
    """One account's totals from its exact list amount and credits: each rounded as the book says, credits as
    billed minus list, so that the three add up."""
    billed = EXACT.add(listed, credited)
    list_rounded = round_amount(listed, book.quantum, book.round_mode)
    billed_rounded = round_amount(billed, book.quantum, book.round_mode)
    return Totals(currency, listed, credited, billed, list_rounded, EXACT.subtract(billed_rounded, list_rounded),
                  billed_rounded)


def bill_totals(book: PriceBook, currency: str, accounts: Mapping[str, Totals]) -> Totals:
    """The whole bill's totals: its accounts' exact totals added up, and their rounded ones (each account is an
    invoice)."""
    listed = exact_sum(t.list for t in accounts.values())
    credited = exact_sum(t.credits for t in accounts.values())
    return Totals(currency, listed, credited, EXACT.add(listed, credited),
                  *(round_amount(exact_sum(getattr(t, name) for t in accounts.values()), book.quantum,
                                 book.round_mode)  # already whole quanta: this only keeps the places
                    for name in ("list_rounded", "credits_rounded", "billed_rounded")))


def largest_remainder(amounts: list[Decimal], target: Decimal, quantum: Decimal, mode: str
                      ) -> Iterator[tuple[int, int]]:
    """(position, quanta to add) so that the amounts, each rounded, then adjusted, add up to `target`.

    Each amount is rounded on its own; the difference to `target`, in whole
    quanta, goes one quantum at a time to the amounts whose rounding moved
    them furthest the other way (ties: the earlier amount). Amounts of zero
    are never adjusted.
    """
    rounded = [round_amount(amount, quantum, mode) for amount in amounts]
    missing = int(EXACT.divide(EXACT.subtract(target, exact_sum(rounded)), quantum))
    candidates = [i for i, amount in enumerate(amounts) if amount]
    if not missing or not candidates:
        return
    step = 1 if missing > 0 else -1
    # Short of the target: the most rounded-down first; over it: the most rounded-up first. The sort is stable,
    # in reverse too, so equal remainders keep their order.
    remainders = [EXACT.subtract(amount, rounded_amount) for amount, rounded_amount in zip(amounts, rounded)]
    candidates.sort(key=remainders.__getitem__, reverse=step > 0)
    for position in itertools.islice(itertools.cycle(candidates), abs(missing)):
        yield position, step


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


def _by_line(buckets: dict[tuple, list[int]]) -> dict[LineKey, dict[str, int]]:
    """LineKey -> token type -> tokens, from one account's buckets keyed by token types too."""
    lines: dict[LineKey, dict[str, int]] = {}
    for (cycle, offer, tier, token_types), counts in buckets.items():
        _add_tokens(lines, LineKey(cycle, offer, tier), zip(token_types, counts))
    return lines


def _add_tokens(counts: dict[LineKey, dict[str, int]], line_key: LineKey, tokens: Iterable[tuple[str, int]]) -> None:
    bucket = counts.get(line_key)
    if bucket is None:
        bucket = counts[line_key] = {}
    for token_type, count in tokens:
        bucket[token_type] = bucket.get(token_type, 0) + count


def _line_order(line_key: LineKey):
    return (line_key.cycle, line_key.offer.region.id, line_key.offer.model, line_key.offer.variant,
            line_key.tier.index, line_key.tier.span.line)


def _ordered_types(tier: Tier, counts: Mapping[str, int]) -> list[str]:
    """The tier's token types in book order, then any others by name."""
    ordered = [t for t in tier.token_types if t in counts]
    if len(ordered) < len(counts):
        ordered += sorted(t for t in counts if t not in tier.token_types)
    return ordered



def _variant_row(row: list[str], indexes: tuple[int | None, ...]) -> tuple:
    """A CSV row's variant values in the book's field order, None for a field the header lacks."""
    return tuple(None if index is None else row[index] for index in indexes)
