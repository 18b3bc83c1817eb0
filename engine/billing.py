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

import sys
from bisect import insort
from collections import defaultdict
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

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


@attrs.frozen(slots=True)
class RatedRecord:
    """One record's place on the bill: its cycle, tier, and tokens (all requests together)."""

    record: UsageRecord
    offer: Offer
    tier: Tier
    cycle_start: datetime
    tokens: tuple[tuple[str, int], ...]
    in_trial: bool


def cycle_start(book: PriceBook, moment: datetime) -> datetime:
    """The start of the billing cycle holding `moment`, in the book's zone."""
    local = moment.astimezone(book.zone)
    if book.cycle == "daily":
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    return local.replace(minute=0, second=0, microsecond=0)


def rate(book: PriceBook, record: UsageRecord | Mapping, currency: str | None = None,
         assume_tz: tzinfo | None = None) -> RatedRecord:
    """Validate and place one record; raises `RecordError` or `PricingError` when it cannot be billed."""
    record = to_record(record, assume_tz)
    currency = currency or book.currency
    offer = find_offer(book, record.region, record.model)
    table = table_at(book, offer, record.timestamp) if offer.dated else offer.tables[0]
    per_request = dict(record.tokens)
    tier = select_tier(table, offer, per_request.get(offer.selector, 0))
    prices = tier.prices.get(currency, {})
    tokens = []
    for token_type, count in record.tokens:
        if token_type not in prices and token_type not in tier.not_billed:
            if count == 0 and token_type not in tier.token_types:
                continue  # an empty column for a token type this model does not have
            raise _no_price(book, offer, tier, token_type, currency)
        tokens.append((token_type, count * record.requests))
    trial = book.trial
    in_trial = trial is not None and record.timestamp < trial.until
    return RatedRecord(record, offer, tier, cycle_start(book, record.timestamp), tuple(tokens), in_trial)


def bill(book: PriceBook, records: Iterable[RawRecord | Reject | UsageRecord | Mapping], currency: str | None = None,
         assume_tz: tzinfo | None = None, ledger: QuotaLedger | None = None,
         on_reject: Callable[[Reject], None] | None = None, strict: bool = False,
         on_progress: Callable[[int], None] | None = None) -> Bill:
    """Bill `records`. Rejects go to `on_reject` when given (and are not kept), else into `Bill.rejects`."""
    currency = currency or book.currency
    if currency not in book.currencies:
        raise PricingError(f"{book.name} has no prices in {currency!r}", "it prices in " + ", ".join(book.currencies))
    biller = _Biller(book, currency, ledger or QuotaLedger())
    kept: list[Reject] = []
    read = rejected = 0
    for item in records:
        read += 1
        reject = _bill_one(book, biller, item, currency, assume_tz)
        if reject is not None:
            rejected += 1
            if strict:
                raise RecordRejected(reject)
            (on_reject or kept.append)(reject)
        if on_progress is not None and read % 50_000 == 0:
            on_progress(read)
    return biller.finish(read, read - rejected, rejected, tuple(kept))


def _bill_one(book: PriceBook, biller: _Biller, item, currency: str, assume_tz: tzinfo | None) -> Reject | None:
    if isinstance(item, Reject):
        return item
    source, line, fields = (item.source, item.line, item.fields) if isinstance(item, RawRecord) \
        else ("<records>", 0, item)
    try:
        biller.add(rate(book, fields, currency, assume_tz))
    except (RecordError, PricingError) as error:
        text = item.original() if isinstance(item, RawRecord) else repr(item)
        return Reject(source, line, text, error.code, error.message + (f" ({error.hint})" if error.hint else ""))
    return None


class _QuotaPrefix:
    """An account's earliest records that can still earn free tokens, in billing order."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.entries: list[tuple] = []  # (order key, line key, consumable tokens)
        self.full = False  # the entries already hold at least `free` tokens

    def offer(self, order: tuple, line_key: tuple, consumable: tuple[tuple[str, int], ...]) -> None:
        if self.full and order >= self.entries[-1][0]:
            return
        insort(self.entries, (order, line_key, consumable))
        total = 0
        for index, (_, _, tokens) in enumerate(self.entries):
            total += sum(count for _, count in tokens)
            if total >= self.free:
                del self.entries[index + 1:]
                self.full = True
                return
        self.full = False


class _Biller:
    def __init__(self, book: PriceBook, currency: str, ledger: QuotaLedger) -> None:
        self.book = book
        self.currency = currency
        self.ledger = ledger
        self.usage: dict[tuple, int] = defaultdict(int)  # line key + token type -> tokens
        self.trial: dict[tuple, int] = defaultdict(int)
        self.first_seen: dict[str, datetime] = {}
        self.prefixes: dict[str, _QuotaPrefix] = {}
        quota = book.quota
        self.consumes = quota.consumes if quota else ()

    def add(self, rated: RatedRecord) -> None:
        record = rated.record
        line_key = (rated.cycle_start, record.account, rated.offer.region.id, rated.offer.model, rated.tier)
        for token_type, count in rated.tokens:
            self.usage[line_key + (token_type,)] += count
            if rated.in_trial:
                self.trial[line_key + (token_type,)] += count
        seen = self.first_seen.get(record.account)
        if seen is None or record.timestamp < seen:
            self.first_seen[record.account] = record.timestamp
        if self.consumes and not rated.in_trial:
            self._offer_to_quota(rated, line_key)

    def _offer_to_quota(self, rated: RatedRecord, line_key: tuple) -> None:
        tokens = dict(rated.tokens)
        consumable = tuple((t, tokens[t]) for t in self.consumes
                           if tokens.get(t) and t not in rated.tier.not_billed)
        if not consumable:
            return
        record = rated.record
        prefix = self.prefixes.get(record.account)
        if prefix is None:
            account = self.ledger.get(record.account)
            free = self.book.quota.free_tokens - (account.consumed if account else 0)
            if free <= 0:
                return
            prefix = self.prefixes[record.account] = _QuotaPrefix(free)
        order = (record.timestamp, record.request_id, record.region, record.model, record.tokens, record.requests)
        prefix.offer(order, line_key, consumable)

    # -- the end: credits, lines, totals ------------------------------------

    def _window_end(self, first_use: datetime) -> datetime:
        quota = self.book.quota
        local = first_use.astimezone(self.book.zone)
        if quota.window_unit == "months":
            return add_months(local, quota.window_length)
        return local + timedelta(days=quota.window_length)

    def _quota_credits(self) -> tuple[dict[tuple, int], dict[str, AccountQuota]]:
        credits: dict[tuple, int] = defaultdict(int)
        accounts = dict(self.ledger.accounts)
        for account, seen in self.first_seen.items():
            before = accounts.get(account)
            first_use = (min(seen, before.first_use) if before else seen).astimezone(self.book.zone)
            consumed = before.consumed if before else 0
            prefix = self.prefixes.get(account)
            if prefix is not None:
                window_end = self._window_end(first_use)
                remaining = prefix.free
                for order, line_key, consumable in prefix.entries:
                    if order[0] >= window_end or remaining == 0:
                        break
                    for token_type, count in consumable:
                        take = min(remaining, count)
                        if take:
                            credits[line_key + (token_type,)] += take
                            remaining -= take
                consumed += prefix.free - remaining
            if self.book.quota is not None:
                accounts[account] = AccountQuota(first_use, consumed)
        return credits, accounts

    def finish(self, read: int, billed: int, rejected: int, rejects: tuple[Reject, ...]) -> Bill:
        credits, accounts = self._quota_credits()
        lines = []
        for key in sorted(self.usage, key=_line_order):
            lines.append(self._line(key, "usage", self.usage[key]))
            if credits.get(key):
                lines.append(self._line(key, "quota", credits[key]))
            if self.trial.get(key):
                lines.append(self._line(key, "trial", self.trial[key]))
        return Bill(self.book.name, self.currency, tuple(lines), {self.currency: self._totals(lines)}, read,
                    billed, rejected, rejects, QuotaLedger(accounts))

    def _line(self, key: tuple, kind: str, tokens: int) -> BillLine:
        start, account, region, model, tier, token_type = key
        book = self.book
        price = tier.prices.get(self.currency, {}).get(token_type)
        unit_price, amount = (price.per_unit, EXACT.multiply(price.per_token, tokens)) if price else (ZERO, ZERO)
        if kind != "usage":
            amount = -amount
        description = {"usage": f"{model} {token_type} tokens, tier {tier.label}",
                       "quota": book.quota.title if book.quota else "",
                       "trial": book.trial.reason if book.trial else ""}[kind]
        end = start + timedelta(seconds=CYCLE_SECONDS[book.cycle])
        return BillLine(start, end, account, region, model, tier, token_type, kind, tokens, unit_price,
                        book.unit_label, amount, round_amount(amount, book.quantum, book.round_mode),
                        self.currency, price is not None, description)

    def _totals(self, lines: list[BillLine]) -> Totals:
        listed = sum((line.amount for line in lines if line.kind == "usage"), ZERO)
        credited = sum((line.amount for line in lines if line.kind != "usage"), ZERO)
        billed = listed + credited
        book = self.book
        return Totals(self.currency, listed, credited, billed,
                      *(round_amount(a, book.quantum, book.round_mode) for a in (listed, credited, billed)))


def _line_order(key: tuple):
    start, account, region, model, tier, token_type = key
    return (start, account, region, model, tier.index, tier.token_types.index(token_type)
            if token_type in tier.token_types else 99, token_type)


def progress_printer(stream=sys.stderr) -> Callable[[int], None] | None:
    """A progress line on stderr when it is a terminal, else nothing."""
    if not stream.isatty():
        return None

    def show(count: int) -> None:
        stream.write(f"\rratecard: {count:,} records read")
        stream.flush()
    return show
