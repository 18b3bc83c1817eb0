"""Explaining a charge: one usage record walked through the book, step by step.

Takes a compiled `PriceBook` and one usage record (a dict or `UsageRecord`,
JSON text, or a line of a usage file) and gives a `Trace`: the steps that
priced it, record -> region -> group -> table -> tier -> each rate -> quota ->
trial -> total, each with the line of the book that decided it
(`rules/x.rules:28:26` and its text) and the exact arithmetic
(`750 x 0.000480 / 1000 = 0.00036`); for a record the engine rejects, the
steps up to the one where it failed, with the code, message and hint.

Every number is the engine's own: `rating.Rater` validates and places the
record, `billing.bill` bills it alone (with the quota ledger the account had
before it, when it comes from a usage file) and the walk only names what
they decided, with the lookups of `tables.py` for the steps before a
failure. A record of a usage file gets the free quota the real bill of that
file gives it: the account's records before it in billing order are billed
first, and their ledger is the one it is billed with. `trace_text` and
`trace_dict` render a trace; `ratecard explain` prints one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs

from .billing import BillLine, QuotaLedger, Totals, bill, duplicate_request, quota_window_end
from .errors import PricingError, RatecardError, RecordError
from .explain import mode_text, quota_terms, range_text
from .locations import location, shown_path
from .moments import WINDOW_FIELD, format_zone, from_instant
from .money import plain
from .rating import CYCLE_SECONDS, RatedRecord, Rater
from .units import BY_WORD
from .records import Line, RawRecord, Reject, UsageRecord, json_record, read_usage
from .source import Source, Span, decode_rules
from .tables import (
    Offer,
    PriceBook,
    Tier,
    TierTable,
    find_offer,
    request_windows,
    resolve_region,
    select_tier,
    selector_count,
    selector_text,
    table_at,
    variant_offer,
)
from .writers import totals_fields

frozen = attrs.frozen(slots=True)


class NothingToExplain(RatecardError):
    """`--record` holds no record (it is empty)."""

    code = "E530"


class NoRecordOnLine(RatecardError):
    """The line asked for is not a record of the usage file (its header, a blank line, or past its end)."""

    code = "E531"


@frozen
class Step:
    """One decision on the way from a record to its charge."""

    name: str  # record, region, group, table, tier, rate, quota, trial or total
    summary: str  # what was decided, in one line
    details: tuple[str, ...] = ()  # the facts and arithmetic behind it
    source: Span | None = None  # the statement that decided it
    source_text: str = ""  # that statement's line, as written
    failed: bool = False  # the record was rejected here

    @property
    def location(self) -> str | None:
        return None if self.source is None else location(self.source)


@frozen
class Rejection:
    code: str
    message: str
    hint: str
    step: str  # the name of the step that failed


@frozen
class Trace:
    book: str
    currency: str
    origin: str  # `the record`, `--record`, or the usage file and line: `examples/usage.csv:12`
    steps: tuple[Step, ...]
    rejection: Rejection | None
    totals: Totals | None  # the record's own list, credits and billed amounts; None when rejected
    lines: tuple[BillLine, ...] = ()  # the record's bill lines, as the bill would hold them alone

    @property
    def billed(self) -> bool:
        return self.rejection is None


# --- the API ---------------------------------------------------------------------------------------

def explain_record(book: PriceBook, record: UsageRecord | Mapping[str, Any], currency: str | None = None,
                   assume_tz: tzinfo | None = None, ledger: QuotaLedger | None = None,
                   origin: str = "the record") -> Trace:
    """How `book` prices one record: with a fresh account's free quota, or the state `ledger` gives its account."""
    return _Walk(book, currency, assume_tz).explain(record, ledger, origin)


def explain_json(book: PriceBook, text: str, currency: str | None = None, assume_tz: tzinfo | None = None,
                 origin: str = "--record") -> Trace:
    """`explain_record` of a record written as one JSON Lines line (read as `ratecard bill` reads one)."""
    item = json_record(SimpleNamespace(source=origin), Line(1, text))
    if item is None:
        raise NothingToExplain(f"{origin} holds no record", """pass one JSON object: '{"timestamp": ...}'""")
    walk = _Walk(book, currency, assume_tz)
    if isinstance(item, Reject):
        return walk.unreadable(item, origin)
    return walk.explain(item.fields, None, origin)


def explain_line(book: PriceBook, path: str | Path, line: int, currency: str | None = None,
                 assume_tz: tzinfo | None = None, input_format: str | None = None) -> Trace:
    """How the bill of the usage file at `path` prices the record on physical line `line` (1-based), with the
    free quota the account has left from its records before it in billing order."""
    walk = _Walk(book, currency, assume_tz)
    target = _item_on_line(path, line, input_format)
    origin = f"{shown_path(str(path))}:{line}"
    record_span = Span(str(path), line, 1, line, len(target.text or "") + 1)
    if isinstance(target, Reject):
        return walk.unreadable(target, origin, record_span)
    rejected: set[int] = set()
    bill(book, read_usage([path], input_format), currency=walk.currency, assume_tz=assume_tz,
         on_reject=lambda reject: rejected.add(reject.line))
    verdict = None
    if line in rejected:
        try:
            walk.rater.rate(target.fields)
        except (RecordError, PricingError):
            pass  # the walk meets the same error
        else:  # billable on its own: rejected as a repeated request_id
            verdict = duplicate_request(str(target.fields.get("request_id", "")).strip())
        return walk.explain(target.fields, None, origin, record_span, target.text, verdict)
    before = _records_before(walk.rater, read_usage([path], input_format), target, rejected)
    ledger = bill(book, before, currency=walk.currency, assume_tz=assume_tz).ledger
    return walk.explain(target.fields, ledger, origin, record_span, target.text)


def _item_on_line(path: str | Path, line: int, input_format: str | None) -> RawRecord | Reject:
    for item in read_usage([path], input_format):
        if item.line == line:
            return item
        if item.line > line:
            break
    raise NoRecordOnLine(f"line {line} of {path} holds no usage record",
                         "lines are counted from 1, the header of a CSV file being line 1")


def _records_before(rater: Rater, records: Iterable[RawRecord | Reject], target: RawRecord,
                    rejected: set[int]) -> list[RawRecord]:
    """The billed records of the target's account that come before it in billing order."""
    mine = rater.rate(target.fields)
    key = _billing_order(mine)
    before = []
    for item in records:
        if isinstance(item, Reject) or item.line in rejected or item.line == target.line:
            continue
        rated = rater.rate(item.fields)
        if rated.account == mine.account and _billing_order(rated) < key:
            before.append(item)
    return before


def _billing_order(rated: RatedRecord) -> tuple:
    return (rated.instant, *rated.order)


# --- the walk --------------------------------------------------------------------------------------

class _PlacingRater(Rater):
    """The engine's rater, keeping the validated fields of the last record it placed: the walk starts there."""

    placed: tuple | None = None
    placed_variant: tuple[tuple[str, str], ...] = ()  # (field, value) pairs

    def place(self, *fields, variant=()):
        self.placed, self.placed_variant = fields, variant
        return super().place(*fields, variant=variant)


class _Failed(Exception):
    """A step failed: the walk ends there."""

    def __init__(self, step: str, error: RatecardError, span: Span | None = None) -> None:
        super().__init__(error.message)
        self.step, self.error, self.span = step, error, span


class _Walk:
    def __init__(self, book: PriceBook, currency: str | None, assume_tz: tzinfo | None) -> None:
        self.book = book
        self.rater = _PlacingRater(book, currency, assume_tz)
        self.currency = self.rater.currency
        self.assume_tz = assume_tz
        self._sources: dict[str, Source] = {}

    def step(self, name: str, summary: str, details: Iterable[str] = (), span: Span | None = None,
             text: str | None = None, failed: bool = False) -> Step:
        return Step(name, summary, tuple(details), span, self.line_text(span) if text is None else text.strip(),
                    failed)

    def line_text(self, span: Span | None) -> str:
        if span is None or span.line <= 0:
            return ""
        source = self._sources.get(span.path)
        if source is None:
            try:
                text = decode_rules(Path(span.path).read_bytes())
            except (OSError, UnicodeDecodeError):
                text = ""
            source = self._sources[span.path] = Source(span.path, text)
        return source.line_text(span.line).strip()

    def trace(self, origin: str, steps: list[Step], rejection: Rejection | None = None,
              totals: Totals | None = None, lines: tuple[BillLine, ...] = ()) -> Trace:
        return Trace(self.book.name, self.currency, origin, tuple(steps), rejection, totals, lines)

    def unreadable(self, reject: Reject, origin: str, span: Span | None = None) -> Trace:
        """A line that is no record at all (not JSON, a stray quote...): rejected as it was read."""
        step = self.step("record", f"rejected: error[{reject.code}]", (reject.reason,), span, reject.record,
                         failed=True)
        return self.trace(origin, [step], Rejection(reject.code, reject.reason, "", "record"))

    def explain(self, record: UsageRecord | Mapping[str, Any], ledger: QuotaLedger | None, origin: str,
                span: Span | None = None, text: str | None = None, verdict: RatecardError | None = None) -> Trace:
        self.rater.placed = None
        steps: list[Step] = []
        try:
            try:
                rated = self.rater.rate(record)
            except (RecordError, PricingError) as error:
                rated, verdict = None, verdict or error
            placed = self.rater.placed
            if placed is None or isinstance(verdict, RecordError):
                raise _Failed("record", verdict, span)
            steps.append(self.record_step(placed, rated, span, text))
            tier = self.place(placed, steps)
            if verdict is not None:  # past the tier: a token type this tier cannot price
                raise _Failed("rate", verdict, tier.span)
        except _Failed as failed:
            error = failed.error
            hint = error.hint or ""
            steps.append(self.step(failed.step, f"rejected: error[{error.code}]", (error.message,), failed.span,
                                   text if failed.step == "record" else None, failed=True))
            return self.trace(origin, steps, Rejection(error.code, error.message, hint, failed.step))
        return self.charge(record, rated, ledger, origin, steps)

    # -- the steps before the price -------------------------------------------------------------------

    def record_step(self, placed: tuple, rated: RatedRecord | None, span: Span | None, text: str | None) -> Step:
        instant, account, region, model, token_types, counts, requests, request_id = placed
        book = self.book
        tokens = " + ".join(f"{count} {token_type}" for token_type, count in zip(token_types, counts))
        details = [f"{requests} requests of {tokens} tokens each" if requests != 1 else f"{tokens} tokens"]
        if rated is not None:
            start = datetime.fromtimestamp(rated.cycle, book.zone)
            end = start + timedelta(seconds=CYCLE_SECONDS[book.cycle])
            details.append(f"billing cycle {start.isoformat()} to {end.isoformat()} ({book.cycle} in "
                           f"{format_zone(book.zone)})")
        if request_id:
            details.append(f"request_id {request_id}")
        moment = from_instant(instant, book.zone)
        return self.step("record", f"{moment.isoformat()}, account {account}, {model} in {region!r}", details,
                         span, text)

    def place(self, placed: tuple, steps: list[Step]) -> Tier:
        """The region, group, table and tier steps, with the lookups the rater makes; `_Failed` at a failure."""
        instant, _, region, model, token_types, counts, requests, _ = placed
        book = self.book
        try:
            region_id = resolve_region(book, region)
        except PricingError as error:
            raise _Failed("region", error) from None
        found = book.regions[region_id]
        named = f"{region!r} is {region_id}" + (f" ({found.name})" if found.name != region_id else "")
        steps.append(self.step("region", named, (), found.span))
        groups = [name for name, members in book.groups.items() if region_id in members]
        if groups:
            steps.append(self.step("group", f"{region_id} is in group {' and '.join(groups)}", (),
                                   book.group_spans.get(groups[0])))
        else:
            steps.append(self.step("group", f"{region_id} is in no group: it is priced on its own"))
        moment = from_instant(instant, book.zone)
        try:
            offer = find_offer(book, region, model)
        except PricingError as error:
            raise _Failed("table", error) from None
        variant = self.rater.placed_variant
        if variant or offer.windows:
            try:
                offer = variant_offer(book, offer, dict(variant), request_windows(book, offer, variant, instant))
            except PricingError as error:
                raise _Failed("variant", error) from None
            if offer.variant:
                steps.append(self.variant_step(offer))
        try:
            table = table_at(book, offer, moment) if offer.dated else offer.tables[0]
        except PricingError as error:  # the book is out of force (no statement of it is kept), or no table is in
            in_book = (book.start is None or moment >= book.start) and (book.end is None or moment < book.end)
            raise _Failed("table", error, offer.tables[0].span if in_book else None) from None
        steps.append(self.table_step(offer, table, groups, moment))
        per_request = selector_count(offer.selector, token_types, counts)
        try:
            tier = select_tier(table, offer, per_request)
        except PricingError as error:
            raise _Failed("tier", error, table.tiers[-1].span) from None
        steps.append(self.tier_step(offer, table, tier, per_request, requests))
        return tier

    def variant_step(self, offer: Offer) -> Step:
        """Which variant prices the record, and how its values stack (the book's field order)."""
        book = self.book
        details = [f"{book.variants[name].field} = {name}"
                   + (" (chosen by the request's time)" if book.variants[name].field == WINDOW_FIELD else "")
                   for name in offer.variant]
        details.append("each rate: the variant's own rate (the first field in the book's order that has one), "
                       "else the model's, times every multiplier: the rates below")
        return self.step("variant", "variant " + "+".join(offer.variant), details,
                         book.variants[offer.variant[0]].span)

    def table_step(self, offer: Offer, table: TierTable, groups: list[str], moment) -> Step:
        place = groups[0] if groups else offer.region.id
        when = range_text(table.start, table.end)
        details = [f"{len(table.tiers)} tier{'s' if len(table.tiers) != 1 else ''}, in force {when}"]
        book = self.book
        if book.start is not None or book.end is not None:
            details.append(f"the book is in force {range_text(book.start, book.end)}")
        if table.start is not None or table.end is not None or book.start is not None or book.end is not None:
            details.append(f"the record's time {moment.isoformat()} is within it")
        return self.step("table", f"{offer.model} rates for {place}", details, table.span)

    def tier_step(self, offer: Offer, table: TierTable, tier: Tier, per_request: int, requests: int) -> Step:
        if tier.upper is None and tier.label == "all":
            summary = "one rate for every request size"
            details = []
        else:
            summary = f"tier {tier.index} of {len(table.tiers)}: {tier.label}"
            upper = "" if tier.upper is None else f" <= {tier.upper}"
            details = [f"{per_request} {selector_text(offer.selector)} tokens per request: {tier.lower} < {per_request}{upper}"]
            if requests != 1:
                details.append(f"each of the {requests} requests is tiered on its own tokens; all are priced here")
        return self.step("tier", summary, details, tier.span)

    # -- the price, the credits, the total ----------------------------------------------------------

    def charge(self, record, rated: RatedRecord, ledger: QuotaLedger | None, origin: str,
               steps: list[Step]) -> Trace:
        book, currency = self.book, self.currency
        billed = bill(book, [record], currency=currency, assume_tz=self.assume_tz, ledger=ledger)
        lines = tuple(billed.lines)
        usage = [line for line in lines if line.kind == "usage"]
        for line in usage:
            steps.append(self.rate_step(line, rated.requests))
        steps.append(self.quota_step(rated, lines, ledger, billed.ledger))
        steps.append(self.trial_step(rated, lines))
        totals = billed.totals[currency]
        listed = " + ".join(plain(line.amount) for line in usage) or "0"
        details = [f"list price: {listed} = {plain(totals.list)}",
                   f"credits: {plain(totals.credits)}",
                   (f"rounded to {book.round_places} decimals, {mode_text(book.round_mode)}: list {currency} "
                    f"{totals.list_rounded}, billed {currency} {totals.billed_rounded} (a bill rounds each "
                    "account's totals, not each record)")]
        steps.append(self.step("total", f"{currency} {plain(totals.billed)} = list {plain(totals.list)} + credits "
                                        f"{plain(totals.credits)}", details))
        return self.trace(origin, steps, None, totals, lines)

    def rate_step(self, line: BillLine, requests: int) -> Step:
        book = self.book
        if not line.billed:
            return self.step("rate", f"{line.token_type}: {line.quantity} {line.unit}, not billed = 0", (), line.source)
        one = BY_WORD[line.unit].singular
        details = [f"{line.currency} {line.unit_price} per {line.pricing_unit} = {plain(line.price.per_token)} per {one}"]
        if requests != 1:
            details.insert(0, f"{line.quantity // requests} {line.unit} x {requests} requests = {line.quantity} "
                              f"{line.unit}")
        return self.step("rate", f"{line.token_type}: {_product(line, book)} = {plain(line.amount)}", details,
                         line.source)

    def quota_step(self, rated: RatedRecord, lines: tuple[BillLine, ...], ledger: QuotaLedger | None,
                   after: QuotaLedger) -> Step:
        quota = self.book.quota
        if quota is None:
            return self.step("quota", "the book has no free quota")
        before = ledger.get(rated.account) if ledger is not None else None
        left = max(0, quota.free_tokens - (before.consumed if before else 0))
        first_use = after.get(rated.account).first_use
        end = quota_window_end(quota, first_use)
        credits = [line for line in lines if line.kind == "quota"]
        details = [quota_terms(quota),
                   f"the account's first use {first_use.isoformat()}: free tokens until {end.isoformat()}",
                   f"free tokens left before this record: {left}"]
        if credits:
            used = sum(line.quantity for line in credits)
            details += [f"{line.token_type}: -({_product(line, self.book)}) = {plain(line.amount)}" for line in credits]
            details.append(f"free tokens left after it: {left - used}")
            summary = f"{used} free tokens used: credit {plain(sum(line.amount for line in credits))}"
        elif rated.in_trial:
            summary = "not used: the record is in the free trial"
        elif left == 0:
            summary = "not used: the account has no free tokens left"
        elif rated.timestamp >= end:
            summary = "not used: the record is past the account's free quota window"
        else:
            summary = "not used: the record has no tokens the quota consumes"
        return self.step("quota", summary, details, quota.span)

    def trial_step(self, rated: RatedRecord, lines: tuple[BillLine, ...]) -> Step:
        trial = self.book.trial
        if trial is None:
            return self.step("trial", "the book has no free trial")
        until = trial.until.isoformat()
        if not rated.in_trial:
            return self.step("trial", f"none: the record is not before {until}", (), trial.span)
        credits = [line for line in lines if line.kind == "trial"]
        details = [trial.reason] + [f"{line.token_type}: -({_product(line, self.book)}) = {plain(line.amount)}"
                                    for line in credits]
        total = plain(sum(line.amount for line in credits)) if credits else "0"
        return self.step("trial", f"free: the record is before {until}: credit {total}", details, trial.span)


def _product(line: BillLine, book: PriceBook) -> str:
    """`750 x 0.000480 / 1000`: the line's tokens times the price as written, per pricing unit."""
    return f"{line.quantity} x {line.unit_price} / {line.pricing_size}"


# --- rendering -------------------------------------------------------------------------------------

def trace_text(trace: Trace) -> str:
    """The trace for a person: one block per step, the source line under it, the verdict last."""
    out = [f"Explaining {trace.origin} ({trace.book}, {trace.currency})"]
    for step in trace.steps:
        out.append(f"  {step.name:<7} {step.summary}")
        out += [f"          {detail}" for detail in step.details]
        if step.source is not None:
            out.append(f"          at {step.location}: {step.source_text}")
    if trace.rejection is not None:
        rejection = trace.rejection
        out.append(f"rejected at {rejection.step}: error[{rejection.code}]: {rejection.message}")
        if rejection.hint:
            out.append(f"  help: {rejection.hint}")
    else:
        totals = trace.totals
        out.append(f"billed: {trace.currency} {plain(totals.billed)} (list {plain(totals.list)}, credits "
                   f"{plain(totals.credits)})")
    return "\n".join(out) + "\n"


def trace_dict(trace: Trace) -> dict[str, Any]:
    """The trace as JSON-ready data; money in strings."""
    return {
        "book": trace.book,
        "currency": trace.currency,
        "origin": trace.origin,
        "billed": trace.billed,
        "steps": [{"step": s.name, "summary": s.summary, "details": list(s.details), "source": s.location,
                   "source_text": s.source_text, "failed": s.failed} for s in trace.steps],
        "rejected": None if trace.rejection is None else attrs.asdict(trace.rejection),
        "totals": None if trace.totals is None else totals_fields(trace.totals),
    }
