"""The book as the engine understands it.

Takes a compiled `PriceBook` and gives plain text that spells everything out
after includes and multipliers: every tier's exact integer bounds, every
region's group and names, every rate with its currency and its exact price per
token, the quota, the trial and the worked examples with what the book gives
for them. `rulecheck --explain BOOK` prints it, so that a person can confirm
that `128K` really means 128,000.
"""

from __future__ import annotations

from .examples import failure
from .moments import format_zone
from .money import plain
from .tables import PriceBook, Tier, TierTable


def explain(book: PriceBook) -> str:
    lines = [f"book {book.name} \"{book.title}\"", f"  file: {book.path}"]
    if book.source:
        lines.append(f"  source: {book.source}")
    lines += [
        f"  currencies: {', '.join(book.currencies)} (a price without a currency is in {book.currency})",
        f"  prices per {book.unit_tokens:,} token{'s' if book.unit_tokens != 1 else ''}",
        f"  billing cycles: {book.cycle}, in {format_zone(book.zone)}",
        f"  amounts shown rounded to {book.round_places} decimals, {_mode(book.round_mode)}; exact amounts kept",
        f"  in force: {_range(book.start, book.end)}",
    ]
    lines += ["", "regions:"] + _regions(book)
    for model in book.models:
        lines += [""] + _model(book, model)
    if book.quota:
        quota = book.quota
        lines += ["", f"quota {quota.name} \"{quota.title}\":",
                  f"  {quota.free_tokens:,} tokens free per account, within {quota.window_length} "
                  f"{quota.window_unit} of its first use; consumed in time order, "
                  f"{' before '.join(quota.consumes)} within a record"]
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


def _mode(mode: str) -> str:
    return mode.replace("ROUND_", "").lower().replace("_", "-")


def _range(start, end) -> str:
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


def _model(book: PriceBook, model: str) -> list[str]:
    offers = [offer for (name, _), offer in book.offers.items() if name == model]
    flat = all(tier.label == "all" for offer in offers for table in offer.tables for tier in table.tiers)
    chooser = "one rate for every request size" if flat else f"tier chosen by {offers[0].selector} tokens per request"
    lines = [f"model {model}: {chooser}"]
    by_tables: dict[tuple[int, ...], list[str]] = {}
    tables_of: dict[tuple[int, ...], tuple[TierTable, ...]] = {}
    for offer in offers:
        key = tuple(id(t) for t in offer.tables)
        by_tables.setdefault(key, []).append(offer.region.id)
        tables_of[key] = offer.tables
    for key, regions in by_tables.items():
        group = next((g for g, members in book.groups.items() if set(members) == set(regions)), None)
        lines.append(f"  {'group ' + group if group else 'regions'}: {', '.join(regions)}")
        for table in tables_of[key]:
            if table.start or table.end:
                lines.append(f"    in force {_range(table.start, table.end)}")
            for tier in table.tiers:
                lines += _tier(book, tier)
    return lines


def _tier(book: PriceBook, tier: Tier) -> list[str]:
    if tier.upper is None and tier.label == "all":
        bounds = "every request"
    elif tier.upper is None:
        bounds = f"{tier.lower:,} < T"
    else:
        bounds = f"{tier.lower:,} < T <= {tier.upper:,}"
    lines = [f"    tier {tier.index}: {bounds}   (written {tier.label}, line {tier.span.line})"]
    for token_type in tier.token_types:
        if token_type in tier.not_billed:
            lines.append(f"      {token_type:<10} not billed")
            continue
        for currency, prices in tier.prices.items():
            if token_type in prices:
                price = prices[token_type]
                lines.append(f"      {token_type:<10} {currency} {price.per_unit} per {book.unit_label}"
                             f"  = {plain(price.per_token)} per token")
    return lines
