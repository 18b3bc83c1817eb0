"""Messy usage for the differential tests of the engines: seeded, for any price book.

`messy_csv(rng, book, n)` and `messy_jsonl(rng, book, n)` give the bytes of a
usage file that has what bills get wrong: a few accounts crossing their free
quota, timestamps tied to the microsecond, at the edges of hours, of the free
trial, of month ends and of rate tables' dates, tier edges, huge counts and
request counts, display names in any case and spacing, repeated request_ids,
and bad rows of every kind the readers and raters reject.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone

from ratecard.moments import DAY_MINUTES
from ratecard.records import UsageMeters
from ratecard.tables import PriceBook
from ratecard.units import TOKENS

TEXT_FIELDS = {"timestamp", "account", "region", "model", "request_id"}

ZONES = ["+08:00", "Z", "-05:30", "+00:00", "+14:00"]
BAD_TIMESTAMPS = ["", "yesterday", "2026-02-30T10:00:00Z", "2026-05-01T24:00:00Z", "2026-13-01T00:00:00Z",
                  "2026-05-01T10:15:00+24:00", "0000-01-01T00:00:00Z", "9999-01-01T00:00:00Z",
                  "1969-12-31T23:59:59Z", "2026-05-01T10:15:60Z", "2026-05-01T10:15:00z", "٢٠٢٦-05-01T10:15:00Z"]
BAD_COUNTS = ["", " ", "-5", "1.5", "1e3", "٣", "²", "abc", "1_000", "0x10", "10000000000000000", "-0", "+5"]


def _edges(book: PriceBook) -> list[datetime]:
    """Moments where something changes: trial end, table dates, month ends, hour edges, the book's end."""
    zone = book.zone
    moments = [datetime(2026, 1, 31, 23, 59, 59, tzinfo=zone), datetime(2026, 2, 28, 23, 0, tzinfo=zone),
               datetime(2026, 3, 31, 12, 0, tzinfo=zone), datetime(2026, 5, 1, 10, 0, tzinfo=zone),
               datetime(2026, 5, 31, 23, 59, tzinfo=zone), datetime(2024, 2, 29, 8, 0, tzinfo=zone),
               datetime(2026, 12, 31, 23, 30, tzinfo=zone)]
    if book.trial:
        moments.append(book.trial.until)
    for moment in (book.start, book.end):
        if moment:
            moments.append(moment)
    for offer in book.offers.values():
        for table in offer.tables:
            moments += [m for m in (table.start, table.end) if m]
    monday = datetime(2026, 5, 4, tzinfo=UTC)  # the edges of each time window, in its zone, for a week
    for variant in book.windows:
        clock = variant.window
        zone = timezone(timedelta(minutes=clock.offset))
        days = range(7) if clock.period == DAY_MINUTES else range(1)
        for day in days:
            start = monday.replace(tzinfo=zone) + timedelta(days=day)
            moments += [start + timedelta(minutes=clock.start), start + timedelta(minutes=clock.end)]
    return moments


def _timestamp(rng: random.Random, edges: list[datetime]) -> str:
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(BAD_TIMESTAMPS)
    base = rng.choice(edges) + timedelta(seconds=rng.choice([-3601, -60, -1, 0, 0, 0, 1, 59, 3600, 86400 * 3,
                                                            86400 * 31, rng.randint(-10**6, 10**6)]))
    if rng.random() < 0.1:
        base += timedelta(microseconds=rng.choice([1, 500000, 999999, 120]))
    zone = rng.choice(ZONES)
    offset = UTC if zone == "Z" else datetime.strptime(zone.replace(":", ""), "%z").tzinfo
    local = base.astimezone(offset)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if local.microsecond:
        text += rng.choice([f".{local.microsecond:06d}", f".{local.microsecond:06d}".rstrip("0") or ".0"])
    shape = rng.random()
    if shape < 0.05:
        return text.replace("T", " ") + zone
    if shape < 0.08:
        return local.replace(tzinfo=None).isoformat()  # naive: rejected unless --assume-tz
    if shape < 0.12:  # shapes Python takes that the SQL leaves to Python
        return rng.choice([local.isoformat(timespec="minutes"), local.strftime("%Y-%m-%dT%H:%M:%S%z"),
                           text + zone + "", text.replace("T", "x") + zone])
    if shape < 0.14:
        return f"  {text}{zone} "
    return text + zone


def _count(rng: random.Random, edges: list[int]) -> str:
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(BAD_COUNTS)
    if roll < 0.25:
        return str(max(0, rng.choice(edges) + rng.choice([-1, 0, 0, 1])))
    if roll < 0.28:
        return rng.choice(["999999999999999", "000000000000000000123", " 42 ", "0"])
    return str(rng.choice([rng.randint(0, 2000), rng.randint(0, 400_000), rng.randint(0, 5)]))


def _requests(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return ""
    if roll < 0.9:
        return str(rng.choice([1, 2, 3, 10, 10000]))
    return rng.choice(["0", "1000000000000", "1000000000001", "-1", "x", " ", "007"])


def _place(rng: random.Random, book: PriceBook) -> str:
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(["mars-1", "", "US  (virginiaa)", "Ulanqab "])
    region = rng.choice(list(book.regions.values()))
    if roll < 0.4 or not region.display_names:
        return region.id
    name = rng.choice(region.display_names)
    return rng.choice([name, name.upper(), name.lower(), "  " + name.replace(" ", "   ") + " "])


def _records(rng: random.Random, book: PriceBook, count: int) -> list[dict[str, str]]:
    edges = _edges(book)
    tiers = sorted({b for offer in book.offers.values() for table in offer.tables for tier in table.tiers
                    for b in (tier.lower, tier.upper) if b is not None})
    quota = book.quota.free_tokens if book.quota else 1_000_000
    token_edges = tiers + [quota, quota // 2, quota // 3, 10**15 - 1]
    models = list(book.models) + ["gpt-9"]
    meters = UsageMeters.of(book)
    extra = [meters.column(meter) for meter in sorted(book.token_types - {"input", "output"})
             if not book.units.get(meter, TOKENS).per_request]  # a fee has no column: each request pays it
    accounts = [f"acct-{i}" for i in range(rng.randint(1, 6))] + ["Zoë", "a,b"]
    records, ids = [], []
    tied = None
    for _ in range(count):
        record = {
            "timestamp": tied if tied and rng.random() < 0.3 else _timestamp(rng, edges),
            "account": rng.choice(accounts) if rng.random() > 0.01 else "",
            "region": _place(rng, book),
            "model": rng.choice(models) if rng.random() < 0.05 else rng.choice([*book.models, *book.aliases]),
            "input_tokens": _count(rng, token_edges),
            "output_tokens": _count(rng, token_edges),
            "requests": _requests(rng),
        }
        for field in book.variant_fields:  # a variant: none, a value (padded), one of another field or unknown
            values = [name for name, variant in book.variants.items() if variant.field == field]
            record[field] = rng.choice(["", "", "", *values, f" {rng.choice(values)} ", values[0].upper(), "turbo",
                                        rng.choice(list(book.variants))])
        for column in extra:
            record[column] = "" if rng.random() < 0.5 else _count(rng, token_edges)
        roll = rng.random()
        record["request_id"] = (rng.choice(ids) if ids and roll < 0.05 else "" if roll < 0.4
                                else f"r{len(ids)}")
        ids.append(record["request_id"] or "r-none")
        tied = record["timestamp"]
        records.append(record)
    return records


def messy_csv(rng: random.Random, book: PriceBook, count: int, unknown_column: bool = False) -> bytes:
    """A CSV usage file of about `count` records, with bad lines among them."""
    records = _records(rng, book, count)
    names = list(records[0]) + (["mystery_tokens"] if unknown_column else [])
    lines = [",".join(names).encode()]
    for record in records:
        values = [record[n] if n in record else rng.choice(["0", "", "3"]) for n in names]
        line = ",".join(f'"{v}"' if "," in v else v for v in values)
        roll = rng.random()
        if roll < 0.01:
            line = line.replace(",", ",,", 1)  # one field too many
        elif roll < 0.02:
            line = line.rsplit(",", 1)[0]  # one too few
        elif roll < 0.025:
            line = line.replace(",", ',"', 1)  # a stray quote
        elif roll < 0.03:
            line = '"' + line.replace(",", '","') + '"'  # every field quoted
        elif roll < 0.035:
            line = ""  # a blank line
        elif roll < 0.04:
            line = "   \t"
        elif roll < 0.045:
            line = line + "\r"
        data = line.encode()
        if rng.random() < 0.005:
            data = data[:10] + b"\xff" + data[10:]
        lines.append(data)
    return b"\n".join(lines) + (b"\n" if rng.random() < 0.8 else b"")


def messy_jsonl(rng: random.Random, book: PriceBook, count: int) -> bytes:
    """A JSON Lines usage file: counts as numbers or text, nulls, missing keys, and bad lines."""
    out = []
    for record in _records(rng, book, count):
        fields: dict = {}
        for name, value in record.items():
            if value == "" and rng.random() < 0.5:
                continue  # an absent key, not an empty one
            if name not in TEXT_FIELDS and name not in book.variant_fields:  # a count: input_tokens, requests, ...
                if value.isdigit() and value.isascii() and rng.random() < 0.7:
                    value = int(value)
                elif rng.random() < 0.02:
                    value = rng.choice([None, True, 1.5, [1]])
            fields[name] = value
        line = json.dumps(fields, ensure_ascii=rng.random() < 0.5)
        roll = rng.random()
        if roll < 0.01:
            line = line[:-1]
        elif roll < 0.015:
            line = "[1, 2]"
        elif roll < 0.02:
            line = line[:-1] + ', "account": "again"}'
        out.append(line.encode())
    return b"\n".join(out) + b"\n"
