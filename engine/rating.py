"""Placing usage records on a bill.

Takes a compiled `PriceBook` and usage records (dicts, `UsageRecord`s, or the
rows of a CSV file) and gives each record's `RatedRecord`: its billing cycle,
its offer (model in a region), its tier, and its tokens for all its requests.
It says why a record cannot be billed by raising `RecordError` or
`PricingError`. `billing.py` sums rated records into a bill.

There is one path: `Rater.rate_fields` validates a record's field values with
the parsers of `records.py` and `Rater.place` puts it on the bill. A dict, a
`UsageRecord` and a CSV row differ only in how their values are picked out,
so no kind of input can be billed differently from another.

Instants are integer microseconds since the epoch: exact, and far cheaper to
compare and bucket than aware datetimes.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Mapping, NamedTuple, Sequence

from .errors import PricingError
from .moments import from_instant, instant_of
from .records import (
    NO_METERS,
    REQUIRED_TOKENS,
    MalformedRow,
    MissingField,
    UsageMeters,
    UsageRecord,
    field_text,
    optional_text,
    parse_counts,
    parse_requests,
    parse_timestamp,
    token_fields,
)
from .tables import (
    NO_PRICES,
    Offer,
    PriceBook,
    Tier,
    fee_given,
    find_offer,
    no_price_error,
    require_currency,
    request_windows,
    select_tier,
    selector_count,
    table_at,
    variant_offer,
)

CYCLE_SECONDS = {"hourly": 3600, "daily": 86400}
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
    request_id: str
    requests: int

    @property
    def order(self) -> tuple:
        """Ties between records of one instant: request_id, region, model, token types and counts, requests."""
        counts = self.totals if self.requests == 1 else tuple(total // self.requests for total in self.totals)
        tokens = tuple(sorted(zip(self.token_types, counts)))  # by type name: the order fields were read in is no key
        offer = self.offer
        return (self.request_id, offer.region.id, offer.model, offer.variant, tokens, self.requests)

    @property
    def tokens(self) -> tuple[tuple[str, int], ...]:
        return tuple(zip(self.token_types, self.totals))

    @property
    def timestamp(self) -> datetime:
        return from_instant(self.instant)


class TokenColumns(NamedTuple):
    """The token fields a record (or every row of a CSV file) carries."""

    types: tuple[str, ...]
    names: tuple[str, ...]  # the fields: `input_tokens`, ...
    required: tuple[bool, ...]  # input and output must hold a count; others may be empty
    all_required: bool

    @classmethod
    def of(cls, token_types: tuple[str, ...], required: bool = False, meters: UsageMeters = NO_METERS) -> TokenColumns:
        names = tuple(meters.column(t) for t in token_types)
        needed = tuple(required or name in REQUIRED_TOKENS for name in names)
        return cls(token_types, names, needed, all(needed))

    def present(self, values: Sequence[Any]) -> tuple[TokenColumns, list[Any]]:
        """These columns and `values` without the empty optional ones: the record has none of those types."""
        keep = [i for i, value in enumerate(values) if self.required[i] or not (value == "" or value is None)]
        kept = TokenColumns(tuple(self.types[i] for i in keep), tuple(self.names[i] for i in keep),
                            tuple(self.required[i] for i in keep), True)
        return kept, [values[i] for i in keep]


class TokenPlan(NamedTuple):
    """What a tier does with a record's token types: which it prices, and which must be zero to be left out."""

    kept_types: tuple[str, ...]  # then the tier's fees
    kept_positions: tuple[int, ...] | None  # None: every type is kept, in order
    zero_positions: tuple[int, ...]  # types this model does not have: a record may carry them only as 0
    fee_counts: tuple[int, ...] = ()  # one per fee of the tier: each request pays each fee once


class Rater:
    """Validates and places records for one book and currency; lookups that repeat are cached here."""

    def __init__(self, book: PriceBook, currency: str | None = None, assume_tz: tzinfo | None = None) -> None:
        self.book = book
        self.currency = require_currency(book, currency or book.currency)
        self.assume_tz = assume_tz
        self.cycle_seconds = CYCLE_SECONDS[book.cycle]
        self.zone_seconds = int(book.zone.utcoffset(None).total_seconds())
        self.trial_until = instant_of(book.trial.until) if book.trial else None
        self.meters = UsageMeters.of(book)
        self._minutes: dict[str, int] = {}  # timestamp text but its seconds -> epoch seconds of its minute
        self._offers: dict[tuple[str, str], Offer] = {}  # (region, model) as written
        self._plans: dict[tuple[Tier, tuple[str, ...]], TokenPlan] = {}
        self._failures: dict[tuple, PricingError] = {}  # either key, when the lookup has no answer
        # (offer, the record's (field, value) pairs, the time windows it falls in) -> its offer in them
        self._variants: dict[tuple[Offer, tuple[tuple[str, str], ...], tuple[str, ...]], Offer | PricingError] = {}

    # -- the one path ---------------------------------------------------------------------------------

    def rate(self, record: UsageRecord | Mapping[str, Any]) -> RatedRecord:
        """Validate and place a dict or a `UsageRecord`."""
        if isinstance(record, UsageRecord):
            columns = TokenColumns.of(tuple(token_type for token_type, _ in record.tokens), True, self.meters)
            return self.rate_fields(record.timestamp, record.account, record.region, record.model, columns,
                                    [count for _, count in record.tokens], record.requests, record.request_id,
                                    record.variant)
        if not isinstance(record, Mapping):
            raise MalformedRow(f"a usage record must be a mapping or a UsageRecord, not {type(record).__name__}",
                               "pass dicts with the usage fields")
        if self.meters.units:
            for name in record:
                if type(name) is str and (misnamed := self.meters.misnamed(name)) is not None:
                    raise MalformedRow(misnamed, "name each column as the book counts its meter")
        pairs = token_fields((name for name in record if type(name) is str), self.meters)
        names = [name for name, _ in pairs]
        for name in REQUIRED_TOKENS:
            if name not in names:
                raise MissingField(f"the record has no {name}", "every record has input_tokens and output_tokens")
        return self.rate_fields(record.get("timestamp"), record.get("account"), record.get("region"),
                                record.get("model"), TokenColumns.of(tuple(t for _, t in pairs), False, self.meters),
                                [record[name] for name in names], record.get("requests"), record.get("request_id"),
                                tuple(record.get(field) for field in self.book.variant_fields))

    def rate_fields(self, timestamp: Any, account: Any, region: Any, model: Any, columns: TokenColumns,
                    values: Sequence[Any], requests: Any, request_id: Any, variant: Sequence[Any] = ()) -> RatedRecord:
        """Validate one record's field values, in a fixed order (so every input reports the same first fault)."""
        # `field_text` strips and checks; ASCII text that strips to something is taken without the call
        if type(account) is not str or not account.isascii() or not (account := account.strip()):
            account = field_text("account", account)
        if type(region) is not str or not region.isascii() or not (region := region.strip()):
            region = field_text("region", region)
        if type(model) is not str or not model.isascii() or not (model := model.strip()):
            model = field_text("model", model)
        instant = self.instant_of_text(timestamp) if type(timestamp) is str else self.instant_of_value(timestamp)
        if not columns.all_required and ("" in values or None in values):
            columns, values = columns.present(values)
        counts = parse_counts(columns.names, values)
        requests = parse_requests(requests)
        request_id = optional_text("request_id", request_id)
        if variant:  # (field, value) pairs: a value must be one of its field's
            variant = tuple((field, text) for field, value in zip(self.book.variant_fields, variant)
                            if (text := optional_text(field, value)))
        return self.place(instant, account, region, model, columns.types, counts, requests, request_id,
                          variant=variant)

    def place(self, instant: int, account: str, region: str, model: str, token_types: tuple[str, ...],
              counts: tuple[int, ...], requests: int, request_id: str,
              variant: tuple[tuple[str, str], ...] = ()) -> RatedRecord:
        """Put a validated record on the bill: its offer (in its variant), tier, tokens, cycle and trial."""
        offer = self._offers.get((region, model)) or self.offer(region, model)
        if variant or offer.windows:
            offer = self.variant(offer, variant, request_windows(self.book, offer, variant, instant))
        table = offer.tables[0] if not offer.dated else table_at(self.book, offer, from_instant(instant))
        tier = select_tier(table, offer, selector_count(offer.selector, token_types, counts))
        plan = self._plans.get((tier, token_types)) or self.plan(offer, tier, token_types)
        if plan.kept_positions is not None:
            for position in plan.zero_positions:
                if counts[position]:
                    raise no_price_error(self.book, offer, tier, token_types[position], self.currency)
            counts = tuple([counts[position] for position in plan.kept_positions])
        if plan.fee_counts:
            counts += plan.fee_counts
        local = instant // 1_000_000 + self.zone_seconds
        trial_until = self.trial_until
        return _new_rated(RatedRecord, (
            instant, account, offer, tier, local - local % self.cycle_seconds - self.zone_seconds, plan.kept_types,
            counts if requests == 1 else tuple([count * requests for count in counts]),
            trial_until is not None and instant < trial_until, request_id, requests))

    # -- cached lookups -------------------------------------------------------------------------------

    def offer(self, region: str, model: str) -> Offer:
        """The offer for a region and model as written (cached), or the error that says why there is none."""
        key = (region, model)
        found = self._offers.get(key) or self._failures.get(key)
        if found is None:
            try:
                found = self._offers[key] = find_offer(self.book, region, model)
            except PricingError as error:
                found = self._failures[key] = error
        if isinstance(found, PricingError):
            raise found
        return found

    def variant(self, offer: Offer, variant: tuple[tuple[str, str], ...], windows: tuple[str, ...] = ()) -> Offer:
        """The offer in the variant a record names ((field, value) pairs) and the time windows it falls in
        (cached), or the error that says why there is none."""
        key = (offer, variant, windows)
        found = self._variants.get(key)
        if found is None:
            try:
                found = variant_offer(self.book, offer, dict(variant), windows)
            except PricingError as error:
                found = error
            self._variants[key] = found
        if isinstance(found, PricingError):
            raise found
        return found

    def plan(self, offer: Offer, tier: Tier, token_types: tuple[str, ...]) -> TokenPlan:
        """How `tier` prices records with these token types (cached); the error when it cannot."""
        key = (tier, token_types)
        failure_key = (offer, tier, token_types)  # regions share tiers, and a failure names its region
        found = self._plans.get(key) or self._failures.get(failure_key)
        if found is None:
            found = self._make_plan(offer, tier, token_types)
            if isinstance(found, PricingError):
                self._failures[failure_key] = found
            else:
                self._plans[key] = found
        if isinstance(found, PricingError):
            raise found
        return found

    def _make_plan(self, offer: Offer, tier: Tier, token_types: tuple[str, ...]) -> TokenPlan | PricingError:
        prices = tier.prices.get(self.currency, NO_PRICES)
        kept, zero = [], []
        for fee in tier.fees:
            if fee in token_types:
                return fee_given(offer, fee)
            if fee not in prices and fee not in tier.not_billed:
                return no_price_error(self.book, offer, tier, fee, self.currency)
        for position, token_type in enumerate(token_types):
            if token_type in prices or token_type in tier.not_billed:
                kept.append(position)
            elif token_type not in tier.token_types:
                zero.append(position)  # a column for a type this model does not have: fine while it is 0
            else:
                return no_price_error(self.book, offer, tier, token_type, self.currency)
        kept_types = tuple(token_types[position] for position in kept) + tier.fees
        fee_counts = (1,) * len(tier.fees)
        if len(kept) == len(token_types):
            return TokenPlan(kept_types, None, (), fee_counts)
        return TokenPlan(kept_types, tuple(kept), tuple(zero), fee_counts)

    # -- timestamps -----------------------------------------------------------------------------------

    def instant_of_value(self, value: Any) -> int:
        """The instant of a datetime (or anything `parse_timestamp` takes), validated and in range."""
        return instant_of(parse_timestamp(value, self.assume_tz))

    def instant_of_text(self, text: str) -> int:
        """The instant of ISO 8601 text: `parse_timestamp`'s answer, with each minute parsed once.

        Converting an aware datetime costs far more than a dict lookup, and
        records crowd into few minutes. The cache is keyed by the text less its
        two seconds digits and holds only texts of the one fixed shape
        `YYYY-MM-DDTHH:MM:SS+HH:MM` (or `...SSZ`) that parsed whole, so a hit
        means this text differs from a valid one only in those two characters,
        which are then looked up among the 60 texts `00` to `59`.
        """
        minute = self._minutes.get(text[:17] + text[19:])
        if minute is not None:
            second = _SECONDS.get(text[17:19])
            if second is not None and len(text) in (20, 25):
                return (minute + second) * 1_000_000
        moment = parse_timestamp(text, self.assume_tz)
        if _cacheable_shape(text):
            self._minutes[text[:17] + text[19:]] = instant_of(moment.replace(second=0)) // 1_000_000
        return instant_of(moment)


_SECONDS = {f"{second:02d}": second for second in range(60)}


def _cacheable_shape(text: str) -> bool:
    """`YYYY-MM-DDTHH:MM:SS` then `+HH:MM`, `-HH:MM` or `Z`, all ASCII: the only shape `instant_of_text` caches."""
    if len(text) == 25:
        zone_ok = text[19] in "+-" and text[22] == ":"
    elif len(text) == 20:
        zone_ok = text[19] == "Z"
    else:
        return False
    return zone_ok and text.isascii() and text[10] in "T " and text[13] == ":" and text[16] == ":" \
        and text[17:19].isdigit()


def rate(book: PriceBook, record: UsageRecord | Mapping, currency: str | None = None,
         assume_tz: tzinfo | None = None) -> RatedRecord:
    """Validate and place one record; raises `RecordError` or `PricingError` when it cannot be billed."""
    return Rater(book, currency, assume_tz).rate(record)

