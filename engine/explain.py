"""The book as the engine understands it.

Takes a compiled `PriceBook` and gives plain text that spells everything out
after includes and multipliers: every tier's exact integer bounds, every
region's group and names, every rate with its currency and its exact price per
token, the quota, the trial and the worked examples with what the book gives
for them. `rulecheck --explain BOOK` prints it, so that a person can confirm
that `128K` really means 128,000.
"""

from __future__ import annotations

import attrs

from .examples import failure
from .moments import format_zone
from .money import plain
from .tables import (PriceBook, Quota, Tier, TierTable, model_aliases, rate_unit_of, selector_text,
                     single_variants)
from .units import BY_WORD


def explain(book: PriceBook) -> str:
    lines = [f"book {book.name} \"{book.title}\"", f"  file: {book.path}"]
    if book.source:
        lines.append(f"  source: {book.source}")
    lines += [
        f"  currencies: {', '.join(book.currencies)} (a price without a currency is in {book.currency})",
        f"  prices per {book.unit_tokens:,} token{'s' if book.unit_tokens != 1 else ''}",
        f"  billing cycles: {book.cycle}, in {format_zone(book.zone)}",
        f"  amounts shown rounded to {book.round_places} decimals, {mode_text(book.round_mode)}; exact amounts kept",
        f"  in force: {range_text(book.start, book.end)}",
    ]
    lines += [f"  time window {w.name}: {w.window.every}, {w.window.describe()}"
              + (f", every model x {w.multiplier}" if w.multiplier is not None else "") for w in book.windows]
    lines += ["", "regions:"] + _regions(book)
    for model in book.models:
        lines += [""] + _model(book, model)
    if book.quota:
        quota = book.quota
        lines += ["", f"quota {quota.name} \"{quota.title}\":", f"  {quota_terms(quota)}"]
    if book.trial:
        lines += ["", f"trial: usage before {book.trial.until.isoformat()} is free ({book.trial.reason})"]
    if book.examples:
        lines += ["", "examples:"]
        for example in book.examples:
            tokens = " ".join(f"{t} {c:,}" for t, c in example.tokens)
            failed = failure(book, example)
            verdict = "passes" if failed is None else "FAILS: " + failed.message
            lines.append(f"  {example.title}: {example.place} {example.model} {tokens} x {example.requests:,}"
                         f" => {example.currency} {example.expected_text}  ({verdict})")
    return "\n".join(lines) + "\n"


def quota_terms(quota: Quota) -> str:
    """What the quota gives and how it is used up, in one sentence."""
    window = f"{quota.window_length} {quota.window_unit}"
    if quota.window_length == 1:
        window = window.removesuffix("s")
    return (f"{quota.free_tokens:,} tokens free per account, within {window} of its first use; consumed in "
            f"time order, {' before '.join(quota.consumes)} within a record")


def mode_text(mode: str) -> str:
    """A rounding mode as the book writes it: `half-up`."""
    return mode.replace("ROUND_", "").lower().replace("_", "-")


def range_text(start, end) -> str:
    """When something is in force: `always`, or `from ... until ...`."""
    if start is None and end is None:
        return "always"
    since = start.isoformat() if start else "the beginning"
    return f"from {since} until {end.isoformat() if end else 'further notice'}"


def _regions(book: PriceBook) -> list[str]:
    group_of = {region: group for group, members in book.groups.items() for region in members}
    offered = {region for (_, region) in book.offers}
    width = max(len(r) for r in book.regions)
    lines = []
    for region in book.regions.values():
        group = group_of.get(region.id)
        where = f"group {group}" if group else ("priced directly" if region.id in offered else "not offered")
        names = ", ".join(f'"{n}"' for n in region.display_names) or "-"
        lines.append(f"  {region.id:<{width}}  {where:<22} {names}")
    return lines


@attrs.frozen(slots=True)
class RegionSet:
    """Regions that share one model's rate tables, with the group's name when they are exactly a group."""

    group: str | None
    regions: tuple[str, ...]  # region IDs, in the book's order
    tables: tuple[TierTable, ...]


def region_sets(book: PriceBook, model: str, variant: tuple[str, ...] = ()) -> list[RegionSet]:
    """The model's regions (where it prices `variant`, when one is given), gathered by the rate tables they share
    (the book compiles a group's once)."""
    regions_of: dict[tuple[int, ...], list[str]] = {}
    tables_of: dict[tuple[int, ...], tuple[TierTable, ...]] = {}
    for (name, _), offer in book.offers.items():
        if name == model and variant:
            offer = offer.variants.get(variant)
        if name == model and offer is not None:
            key = tuple(id(t) for t in offer.tables)
            regions_of.setdefault(key, []).append(offer.region.id)
            tables_of[key] = offer.tables
    return [RegionSet(next((g for g, members in book.groups.items() if set(members) == set(regions)), None),
                      tuple(regions), tables_of[key]) for key, regions in regions_of.items()]


def tiering(book: PriceBook, model: str) -> str:
    """How the model's tier is chosen: `tier chosen by input tokens per request`, or one flat rate."""
    offers = [offer for (name, _), offer in book.offers.items() if name == model]
    flat = all(tier.label == "all" for offer in offers for table in offer.tables for tier in table.tiers)
    return "one rate for every request size" if flat else f"tier chosen by {selector_text(offers[0].selector)} tokens per request"


def _model(book: PriceBook, model: str, variant: tuple[str, ...] = ()) -> list[str]:
    if variant:
        lines = [f"model {model} in variant {'+'.join(variant)} ({book.variants[variant[0]].field})"]
    else:
        lines = [f"model {model}: {tiering(book, model)}"]
        aliases = model_aliases(book, model)
        if aliases:
            lines.append(f"  also known as: {', '.join(aliases)}")
    for region_set in region_sets(book, model, variant):
        lines.append(f"  {'group ' + region_set.group if region_set.group else 'regions'}: "
                     f"{', '.join(region_set.regions)}")
        for table in region_set.tables:
            if table.start or table.end:
                lines.append(f"    in force {range_text(table.start, table.end)}")
            for tier in table.tiers:
                lines += _tier(book, tier)
    if not variant:
        for name in single_variants(book, model):
            lines += _model(book, model, (name,))
    return lines


def tier_bounds(tier: Tier) -> str:
    """A tier's range with its exact integer bounds: `128,000 < T <= 256,000`, or `every request`."""
    if tier.upper is None and tier.label == "all":
        return "every request"
    if tier.upper is None:
        return f"{tier.lower:,} < T"
    return f"{tier.lower:,} < T <= {tier.upper:,}"


def _tier(book: PriceBook, tier: Tier) -> list[str]:
    lines = [f"    tier {tier.index}: {tier_bounds(tier)}   (written {tier.label}, line {tier.span.line})"]
    for token_type in tier.token_types:
        if token_type in tier.not_billed:
            lines.append(f"      {token_type:<10} not billed")
            continue
        for currency, prices in tier.prices.items():
            if token_type in prices:
                price = prices[token_type]
                unit, pricing_unit = rate_unit_of(tier, token_type, book.unit_label)
                lines.append(f"      {token_type:<10} {currency} {price.per_unit} per {pricing_unit}"
                             f"  = {plain(price.per_token)} per {BY_WORD[unit].singular}")
    return lines
