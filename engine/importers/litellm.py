"""Price books from LiteLLM's `model_prices_and_context_window.json` (a file on disk, never the network).

Takes the file's text (a JSON object: model key -> entry with `litellm_provider` and its prices per
token, per image, ...; the key `sample_spec` documents the format and is no model) and gives one
formatted `.rules` book per `litellm_provider`, and a `Report` of every entry: imported, or not with
the exact reason. Prices are read as exact decimals (`1.25e-05` stays exact) and a price per token is
written per 1M tokens by moving the decimal point, never by float arithmetic.

How LiteLLM prices a standard request (`generic_cost_per_token`, LiteLLM 1.110), and how the book says it:

- Counts are disjoint: a prompt is text + cache hits + cache writes + audio + image + video tokens,
  a completion is text + reasoning + audio + image + video tokens. Each price key is a token type
  (`TOKEN_TYPES`). A part without its own price is priced as its parent (cached tokens of a model
  without a cache price as input, reasoning tokens without a reasoning price as output, ...), so the
  book counts it in the parent (`PARENT`), as the book header says.
- `*_above_200k_tokens` (any `_above_N[k]_tokens`): when the whole prompt (`usage.prompt_tokens`, cache
  hits and writes included) is above N, every rate of the request takes its above-N price (a rate
  without one keeps its own): `tier by <every input-side type> tokens per request`, rows
  `0 < T <= N` and `N < T`. xAI's thresholds are inclusive (a prompt of exactly N is above): `N - 1`.
- Opt-in request options (`*_batches`, `*_flex`, `*_priority`, ... service tiers, regional and FedRAMP
  uplifts) are not standard requests: the book does not price them (a request naming a variant is
  refused, never priced as standard), and the entry's report line notes them.
- Everything else that changes what a standard request costs and that the language cannot say exactly
  (per pixel, per second of a fractional duration, web search by context size, time-of-day prices,
  `tiered_pricing` tables, ...) keeps the entry out of the book, with the reason in the report.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..errors import RatecardError
from .common import (
    ProviderBook,
    first_error,
    CatalogueInvalid,
    CatalogueUnreadable,
    Entry,
    Report,
    UnknownProvider,
    is_name,
    make_name,
    number,
    quoted,
)

SOURCE = "litellm"
REGION = "api"
SAMPLE_KEY = "sample_spec"

#: LiteLLM's per-token price key -> the token type that counts those tokens (book order).
TOKEN_TYPES = {
    "input_cost_per_token": "input",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "cache_creation_input_token_cost_above_12hr": "cache_write_12h",
    "input_cost_per_audio_token": "input_audio",
    "cache_read_input_audio_token_cost": "cache_read_audio",
    "input_cost_per_image_token": "input_image",
    "cache_read_input_image_token_cost": "cache_read_image",
    "input_cost_per_video_token": "input_video",
    "output_cost_per_token": "output",
    "output_cost_per_reasoning_token": "output_reasoning",
    "output_cost_per_audio_token": "output_audio",
    "output_cost_per_image_token": "output_image",
    "output_cost_per_video_token": "output_video",
}
#: A token type without a price of its own is priced (and so counted) as this one.
PARENT = {
    "cache_read": "input", "cache_write": "input", "cache_write_1h": "cache_write",
    "cache_write_12h": "cache_write", "input_audio": "input", "cache_read_audio": "cache_read",
    "input_image": "input", "cache_read_image": "cache_read", "input_video": "input",
    "output_reasoning": "output", "output_audio": "output", "output_image": "output", "output_video": "output",
}
INPUT_SIDE = ("input", "cache_read", "cache_write", "cache_write_1h", "cache_write_12h", "input_audio",
              "cache_read_audio", "input_image", "cache_read_image", "input_video")
#: The rates whose `_above_N_tokens` prices choose the tier (`_get_token_base_cost`), and input audio,
#: whose own above-N price LiteLLM looks up by the same prompt count.
TIERED_BASES = ("input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
                "cache_creation_input_token_cost", "cache_creation_input_token_cost_above_1hr",
                "cache_creation_input_token_cost_above_12hr", "input_cost_per_audio_token")
THRESHOLD = re.compile(rf"^({'|'.join(TIERED_BASES)})_above_(\d+(?:\.\d+)?)(k?)_tokens$")
#: Prices LiteLLM applies only when a request asks for them (`service_tier`, the batch API).
OPTION_SUFFIXES = {"_batches": "batch", "_flex": "flex", "_priority": "priority", "_ultrafast": "ultrafast",
                   "_fast": "fast", "_balanced": "balanced", "_auto": "auto"}
#: Multipliers LiteLLM applies only to requests naming a data residency or a regional endpoint.
UPLIFTS = re.compile(r"^(regional_processing_uplift_multiplier_\w+|fedramp_uplift_multiplier|"
                     r"regional_endpoint_uplift_multiplier)$")
#: Providers LiteLLM prices with a calculator of their own: the price keys it reads (no thresholds).
OWN_CALCULATORS = {
    "perplexity": ("input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
                   "output_cost_per_reasoning_token", "citation_cost_per_token"),
    **dict.fromkeys(("dashscope", "qwencloud", "qwen_ai_platform"), (
        "input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
        "cache_creation_input_token_cost", "output_cost_per_reasoning_token")),
}
INCLUSIVE_THRESHOLDS = {"xai"}
#: Per-unit prices -> (meter, unit).
METERS = {"output_cost_per_image": ("generation", "image"), "input_cost_per_query": ("search", "query"),
          "input_cost_per_request": ("request", "request"),
          "google_maps_grounding_cost_per_query": ("maps_grounding", "query")}
#: A response priced per image (or per query) is not also priced per token: LiteLLM takes one or the
#: other, so an entry with both (and a token price above 0) is reported.
EXCLUSIVE_METERS = ("output_cost_per_image", "input_cost_per_query")
#: Price keys LiteLLM's cost calculation never reads (1.110): noted, not carried over.
UNREAD = {"cache_creation_input_audio_token_cost": "cache writes of audio are priced as cache_write"}
#: Modes whose responses LiteLLM prices with calculators of their own (images, video): only their
#: per-image prices are carried over.
IMAGE_MODES = ("image_generation", "image_edit", "video_generation")
#: fireworks_ai: a model without a cache-read price reads cache hits at half its input price.
FIREWORKS_CACHE_READ_RATIO = Decimal("0.5")
MILLION = 6  # a price per token is written per 1M tokens: the decimal point moves 6 places
FLOAT_DIGITS = 15  # more significant digits than a double keeps: 1.0000000000000001e-07 is noted


class Skip(Exception):
    def __init__(self, category: str, reason: str) -> None:
        super().__init__(reason)
        self.category, self.reason = category, reason


def read_catalogue(path: Path) -> list[tuple[str, object]]:
    """The file's entries as (key, entry) in file order, every number an exact Decimal."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CatalogueUnreadable(f"{path}: no such file", "give the path of LiteLLM's "
                                  "model_prices_and_context_window.json") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise CatalogueUnreadable(f"{path}: cannot be read ({reason})",
                                  "give a readable UTF-8 copy of model_prices_and_context_window.json") from None
    try:
        data = json.loads(text, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=_pairs)
    except json.JSONDecodeError as error:
        raise CatalogueInvalid(f"{path}: not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
                               "LiteLLM's model_prices_and_context_window.json is one JSON object") from None
    except RecursionError:
        raise CatalogueInvalid(f"{path}: not valid JSON: nested too deeply",
                               "LiteLLM's model_prices_and_context_window.json is one JSON object") from None
    if not isinstance(data, _Pairs):
        raise CatalogueInvalid(f"{path}: the top level is a JSON {type(data).__name__}, not an object of models",
                               "LiteLLM's file maps each model key to its entry: {\"gpt-4o\": {...}, ...}")
    return list(data.pairs)


class _Pairs(dict):
    """A JSON object that remembers its pairs in order, repeated keys included."""

    pairs: list[tuple[str, object]]


def _pairs(pairs: list[tuple[str, object]]) -> _Pairs:
    obj = _Pairs(pairs)
    obj.pairs = pairs
    return obj


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


# --- one entry -------------------------------------------------------------------------------------------

@dataclass
class ModelSpec:
    """One imported model: the rows of its rate table and what they say."""

    id: str
    types: list[str]  # token types, then meters, in book order
    bounds: list[int]  # tier upper bounds of every row but the last (empty: flat)
    rows: list[dict[str, Decimal]]  # per row: type -> price (per 1M tokens, or per unit for a meter)
    units: dict[str, str] = field(default_factory=dict)  # meter -> ` per image`
    aliases: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def input_types(self) -> list[str]:
        return [t for t in self.types if t in INPUT_SIDE]

    def block(self) -> str:
        lines = [f"model {self.id} {{"]
        if self.aliases:
            lines.append("  alias " + ", ".join(self.aliases))
        if not self.bounds:
            return "\n".join([*lines, f"  {REGION} {{ {self._rates(self.rows[0])} }}", "}"])
        lines.append(f"  tier by {' + '.join(self.input_types)} tokens per request")
        lines.append(f"  {REGION} {{")
        for i, row in enumerate(self.rows):
            low = self.bounds[i - 1] if i else 0
            tier = f"{low} < T <= {self.bounds[i]}" if i < len(self.bounds) else f"{low} < T"
            lines.append(f"    {tier}   {self._rates(row)}")
        return "\n".join([*lines, "  }", "}"])

    def _rates(self, row: dict[str, Decimal]) -> str:
        return "   ".join(f"{t} not billed" if row[t] == 0 else f"{t} {number(row[t])}{self.units.get(t, '')}"
                          for t in self.types)


def _is_price_key(key: str) -> bool:
    return "cost" in key or "pricing" in key or bool(UPLIFTS.match(key))


def _is_zero(value: object) -> bool:
    if isinstance(value, dict):
        return all(_is_zero(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_zero(v) for v in value)
    return isinstance(value, Decimal) and value == 0


def _shown(value: object) -> str:
    if isinstance(value, Decimal):
        return number(value)
    return json.dumps(value, default=lambda d: number(d) if isinstance(d, Decimal) else str(d))


def _threshold(key: str) -> tuple[str, Decimal] | None:
    """(`200k`, 200000) for `input_cost_per_token_above_200k_tokens`; None for another key."""
    m = THRESHOLD.match(key)
    if not m:
        return None
    return m.group(2) + m.group(3), Decimal(m.group(2)) * (1000 if m.group(3) else 1)


def _unsupported(key: str, value: object) -> Skip:
    """Why a price the book cannot carry keeps the entry out (a zero price never gets here)."""
    shown = f"{key} = {_shown(value)}"
    if key == "search_context_cost_per_query":
        return Skip("web search fee by context size", f"{shown}: LiteLLM prices each web search at the price of the "
                    "search context size the request asks for (medium unless it says); a price chosen by a request "
                    "option on the tool is not carried over")
    if key == "off_peak_pricing":
        return Skip("time-of-day price", f"{shown}: other prices apply at some hours of the day (off-peak), by "
                    "weekday and several ranges of hours; the importer does not write them as time windows yet")
    if key == "tiered_pricing":
        return Skip("tiered_pricing table", f"{shown}: a `tiered_pricing` table (ranges of input tokens, the last "
                    "range also above its end, a request of 0 tokens at the flat prices) is not carried over yet")
    if "pixel" in key:
        return Skip("per-pixel price", f"{shown}: priced per pixel of the image; the language has no pixel unit")
    if "per_second" in key or re.search(r"_above_\d+s_", key):
        return Skip("per-second price", f"{shown}: LiteLLM multiplies it by a duration in fractional seconds (audio "
                    "or video length, or response time), which the language counts only in whole seconds")
    if "per_character" in key:
        return Skip("per-character price", f"{shown}: LiteLLM bills characters in place of text tokens when the "
                    "usage reports characters; the language cannot say one or the other")
    if "per_page" in key or "per_credit" in key:
        return Skip("OCR price", f"{shown}: LiteLLM's OCR calculator bills pages, credits and annotated pages by "
                    "rules of its own; not carried over")
    if key.startswith(("input_cost_per_image", "output_cost_per_image_")):
        return Skip("per-image price by size or input", f"{shown}: LiteLLM picks one per-image price by the "
                    "request (its size, or the first of input, output and pixel prices); not carried over")
    if key.endswith(tuple(OPTION_SUFFIXES)) or "_above_" in key:
        return Skip("unmapped price", f"{shown}: a price whose threshold or option the importer does not know")
    return Skip("unmapped price", f"{shown}: LiteLLM's rule for this price is not one the language can say "
                "exactly (or not one the importer knows), so the entry is not imported")


def _price(key: str, value: object) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise Skip("malformed price", f"{key} = {_shown(value)} is not a price (a number, 0 or more)")
    return value


def _web_search_notes(entry: dict) -> list[str]:
    notes = [("web_search counts the searches LiteLLM bills (its web_search_requests), at the one price of every "
              "search context size")]
    if entry.get("web_search_billing_unit"):
        notes.append(f"web_search_billing_unit {entry['web_search_billing_unit']}: LiteLLM counts searches that way")
    if entry.get("search_free_requests"):
        notes.append(f"search_free_requests {_shown(entry['search_free_requests'])} is applied by LiteLLM's proxy "
                     "only, not by its cost calculation: not carried over")
    return notes


def _rows(entry: dict, bounds: list[Decimal], inclusive: bool) -> list[dict[str, Decimal | None]]:
    """LiteLLM's resolved per-token price of each key (None: unpriced) for a prompt in each tier row."""
    starts = [Decimal(0), *bounds]
    return [_resolve(entry, start + 1, inclusive) for start in starts]


def _resolve(entry: dict, prompt: Decimal, inclusive: bool) -> dict[str, Decimal | None]:
    """`_get_token_base_cost` and the modality rates of `generic_cost_per_token` for a prompt of `prompt`
    tokens, service tier and off-peak aside: each key's price per token (None: unpriced)."""
    get = entry.get
    rates = {k: get(k) for k in TOKEN_TYPES}
    if not rates["output_cost_per_token"] and get("output_cost_per_image_token") is not None:
        rates["output_cost_per_token"] = get("output_cost_per_image_token")  # an image model's output is images
    crossed = [t for k in entry if (t := _threshold(k)) and get(k) is not None
               and _exceeds(prompt, t[1], inclusive) and not k.startswith("input_cost_per_audio_token")]
    for text, _ in sorted(crossed, key=lambda t: t[1]):  # ascending: a higher one falls back to what a lower set
        for base in TIERED_BASES[:-1]:
            value = get(f"{base}_above_{text}_tokens")
            if value is not None:
                rates[base] = value
    audio = [t for k in entry if k.startswith("input_cost_per_audio_token_above_") and get(k) is not None
             and (t := _threshold(k)) and _exceeds(prompt, t[1], inclusive)]
    if audio:  # the highest crossed threshold with an audio price of its own
        text = max(audio, key=lambda t: t[1])[0]
        rates["input_cost_per_audio_token"] = get(f"input_cost_per_audio_token_above_{text}_tokens")
    return rates


def _exceeds(prompt: Decimal, limit: Decimal, inclusive: bool) -> bool:
    return prompt > limit or (inclusive and prompt == limit)


def _bounds(entry: dict, inclusive: bool) -> list[Decimal]:
    limits = sorted({t[1] for k in entry if (t := _threshold(k)) and entry.get(k) is not None})
    return [limit - 1 if inclusive else limit for limit in limits]


def model_spec(key: str, entry: dict, provider: str) -> ModelSpec:
    """The model block of one entry, or Skip with the reason it cannot be one."""
    if not is_name(key):
        raise Skip("ID is not a name", f"the model key '{key}' is not a ratecard name (a name starts with a letter, "
                   "_, @ or ~ and joins parts with single - . / : @)")
    tokens, meters, notes = _sorted_prices(entry, OWN_CALCULATORS.get(provider))
    tokens = _as_provider_prices(provider, tokens, notes)
    exclusive = [k for k in meters if k in EXCLUSIVE_METERS]
    if tokens and exclusive and not any(tokens.values()):
        notes.append(f"its per-token prices ({', '.join(tokens)}) are 0: priced per {meters[exclusive[0]][1]} only")
        tokens = {}
    if tokens and exclusive:
        raise Skip("per-token and per-unit price", f"prices tokens and {', '.join(exclusive)}: LiteLLM prices a "
                   "response by one or the other, by what the response reports")
    if tokens and entry.get("mode") in IMAGE_MODES:
        raise Skip("image model priced per token", f"a {entry['mode']} model priced per token: LiteLLM prices its "
                   "responses with image and video calculators of their own; only per-image prices are carried over")
    if not tokens and not meters:
        raise Skip("no prices", "the entry lists no price")
    notes += _float_notes({**tokens, **{k: price for k, (_, _, price) in meters.items()}})
    spec = _token_spec(key, tokens, provider, notes) if tokens else ModelSpec(key, [], [], [{}], notes=notes)
    for meter, unit, price in meters.values():
        spec.types.append(meter)
        spec.units[meter] = f" per {unit}"
        for row in spec.rows:
            row[meter] = price
    return spec


def _sorted_prices(entry: dict, own: tuple[str, ...] | None) -> tuple[dict, dict, list[str]]:
    """The entry's prices sorted out: token price keys -> price, per-unit price keys -> (meter, unit, price),
    and notes on what is not carried over; Skip for a price that keeps the entry out."""
    tokens: dict[str, Decimal] = {}
    meters: dict[str, tuple[str, str, Decimal]] = {}
    notes: list[str] = []
    options: list[str] = []
    for k, value in entry.items():
        if not _is_price_key(k) or value is None:
            continue
        if UPLIFTS.match(k) or (k.endswith(tuple(OPTION_SUFFIXES)) and _is_price_key(k.rsplit("_", 1)[0])):
            options.append(k)
        elif k.endswith("_dbu_cost_per_token"):
            notes.append(f"{k} is informational (Databricks units): LiteLLM bills the USD prices")
        elif k == "input_cost_per_token_cache_hit" and value == entry.get("cache_read_input_token_cost"):
            notes.append(f"{k} repeats cache_read_input_token_cost (DeepSeek's older key)")
        elif k in TOKEN_TYPES or _threshold(k) or (k == "citation_cost_per_token" and own):
            tokens[k] = _price(k, value)
        elif k in UNREAD:
            notes.append(f"{k} is not read by LiteLLM's cost calculation ({UNREAD[k]}): not carried over")
        elif k in METERS:
            meters[k] = (*METERS[k], _price(k, value))
        elif k == "search_context_cost_per_query" and isinstance(value, dict) and len(set(value.values())) == 1:
            meters[k] = ("web_search", "search", _price(k, next(iter(value.values()))))
            notes += _web_search_notes(entry)
        elif _is_zero(value):
            notes.append(f"{k} is 0: nothing to carry over")
        else:
            raise _unsupported(k, value)
    if options:
        notes.append("prices of request options not carried over (a request naming one is refused): "
                     + ", ".join(options))
    if "input_cost_per_request" in meters:
        notes.append("input_cost_per_request is written as a fee each request pays once; LiteLLM's calculator "
                     "(1.110) does not charge it")
    return tokens, meters, notes


def _as_provider_prices(provider: str, tokens: dict[str, Decimal], notes: list[str]) -> dict[str, Decimal]:
    """The token prices as LiteLLM's calculator for `provider` reads them."""
    own = OWN_CALCULATORS.get(provider)
    if own:
        ignored = [k for k in tokens if k not in own]
        if ignored:
            notes.append(f"LiteLLM's {provider} calculator does not read {', '.join(ignored)}: those tokens are "
                         "counted as input or output, as it prices them")
        return {k: v for k, v in tokens.items() if k in own}
    if provider.startswith("vertex_ai") and any("_above_128k_" in k for k in tokens):
        raise Skip("vertex 128k prices", "Vertex AI's calculator chooses the above-128k output price by the "
                   "completion's tokens, apart from the prompt's: one request would be in two tiers")
    if provider == "fireworks_ai" and "cache_read_input_token_cost" not in tokens and "input_cost_per_token" in tokens:
        tokens = {**tokens, "cache_read_input_token_cost": tokens["input_cost_per_token"] * FIREWORKS_CACHE_READ_RATIO}
        notes.append("no cache-read price: LiteLLM reads fireworks_ai cache hits at half the input price, "
                     "written as cache_read")
    return tokens


def _float_notes(prices: dict[str, Decimal]) -> list[str]:
    notes = []
    for key, price in prices.items():
        digits = len(price.normalize().as_tuple().digits)
        if digits > FLOAT_DIGITS:
            notes.append(f"{key} = {number(price)} has {digits} significant digits (a float's rounding in the "
                         "file, it seems): written exactly as the file has it")
    return notes


def _token_spec(key: str, tokens: dict[str, Decimal], provider: str, notes: list[str]) -> ModelSpec:
    inclusive = provider in INCLUSIVE_THRESHOLDS
    bounds = _bounds(tokens, inclusive)
    if any(b < 1 or b != b.to_integral_value() for b in bounds):
        raise Skip("threshold not a whole number", f"tier thresholds of {', '.join(map(number, bounds))} tokens: "
                   "a tier bound is a whole number of tokens above 0")
    resolved = _rows(tokens, bounds, inclusive)
    own = {TOKEN_TYPES[k] for k in tokens if k in TOKEN_TYPES}
    own |= {TOKEN_TYPES[m.group(1)] for k in tokens if (m := THRESHOLD.match(k))}
    types = [t for t in TOKEN_TYPES.values() if t in own or t in ("input", "output")]
    if "citation_cost_per_token" in tokens:  # Perplexity's calculator alone reads it
        types.append("citation")
    rows = []
    for rates in resolved:
        row = {TOKEN_TYPES[k]: v for k, v in rates.items()}
        row["citation"] = tokens.get("citation_cost_per_token")
        rows.append({t: _per_million(_own_or_parent(row, t)) for t in types})
    bounds, rows = _merged(bounds, rows)
    return ModelSpec(key, types, [int(b) for b in bounds], rows, notes=notes)


def _own_or_parent(row: dict[str, Decimal | None], token_type: str) -> Decimal:
    """The price of `token_type` in a row: its own, else its parent's, as LiteLLM falls back (0: unpriced)."""
    while row.get(token_type) is None and token_type in PARENT:
        token_type = PARENT[token_type]
    return row.get(token_type) or Decimal(0)


def _per_million(price: Decimal) -> Decimal:
    return price.scaleb(MILLION)


def _merged(bounds: list[Decimal], rows: list[dict]) -> tuple[list[Decimal], list[dict]]:
    """Neighbouring rows with the same prices made one (a threshold that changes no price of the book)."""
    keep_bounds: list[Decimal] = []
    keep_rows = [rows[0]]
    for bound, row in zip(bounds, rows[1:]):
        if row == keep_rows[-1]:
            continue
        keep_bounds.append(bound)
        keep_rows.append(row)
    # a merged row ends where the next kept one starts
    return keep_bounds, keep_rows


# --- the books -------------------------------------------------------------------------------------------

HEADER = """\
# Imported by `ratecard import litellm` from LiteLLM's {file} (sha256 {digest}),
# the entries whose litellm_provider is {provider}.
# Prices are LiteLLM's per-token prices x 1,000,000, exactly. Token types count disjoint parts of a
# request, as LiteLLM counts them (its counts are taken as given):
#   input: prompt text tokens; cache_read: prompt tokens read from the cache; cache_write: tokens
#   written to the cache (cache_write_1h, cache_write_12h: with a 1-hour or 12-hour lifetime);
#   input_audio, input_image, input_video: prompt audio, image and video tokens (cache_read_audio,
#   cache_read_image: those read from the cache); output: completion text tokens; output_reasoning,
#   output_audio, output_image, output_video: completion reasoning, audio, image and video tokens;
#   citation: Perplexity's citation tokens. Other units: generation: images generated; search: queries
#   (search units); web_search, maps_grounding: web searches and Google Maps groundings LiteLLM bills;
#   request: a fee each request pays once.
#   Tool fees LiteLLM charges by defaults of its own (not in the file) are not in the book either.
# A part the model has no price for is counted in its parent, as LiteLLM prices it there: cached,
# cache-write, audio, image and video prompt tokens in input (cache_read_audio and cache_read_image in
# cache_read, cache_write_1h and cache_write_12h in cache_write), and completion parts in output.
# A tier is chosen by the whole prompt (every input-side type). Only standard requests are priced:
# batch, service tiers (flex, priority, ...) and regional uplifts are not. Regenerate rather than edit.

region {region} {display}

book {name} {title} {{
  source {source}
  currency USD
  price per 1M tokens
  cycle hourly in UTC
  round 6 half-up
"""


def _header(provider: str, file: str, file_digest: str) -> str:
    return HEADER.format(
        file=file, digest=file_digest, provider=provider, region=REGION,
        display=quoted(f"{provider} API") or '"API"', name=make_name(provider),
        title=quoted(f"{provider} prices, imported from LiteLLM") or '"Imported from LiteLLM"',
        source=quoted(f"LiteLLM {file} (sha256 {file_digest}), litellm_provider {provider}") or '"LiteLLM"')


def _book_text(header: str, blocks: list[str]) -> str:
    from ..fmt import format_text

    body = "\n\n".join("\n".join("  " + line for line in b.splitlines()) for b in blocks)
    return format_text(header + ("\n" + body + "\n" if body else "") + "}\n")






@dataclass
class _Provider:
    """The entries of one provider while its book is made: entry index -> spec or report entry."""

    specs: dict[int, ModelSpec] = field(default_factory=dict)
    entries: dict[int, Entry] = field(default_factory=dict)
    aliases: dict[int, str] = field(default_factory=dict)  # an `alias_of` entry -> the model it names


def import_file(path: Path, providers: list[str] | None = None) -> tuple[list[ProviderBook], Report]:
    """Books for the file's providers (all, or those named), and the report of every entry."""
    pairs = read_catalogue(path)
    file_digest = digest(path)
    report = Report(source=f"LiteLLM {path.name} (sha256 {file_digest})")
    grouped = _group(pairs, providers)
    books = []
    for provider, group in grouped.items():
        book = _provider_book(provider, group, path.name, file_digest)
        report.entries += [group.entries[i] for i in sorted(group.entries)]
        if book:
            report.books[provider] = book.file
            books.append(book)
    return books, report


def _group(pairs: list[tuple[str, object]], providers: list[str] | None) -> dict[str, _Provider]:
    """Each entry's spec or reason, by provider (in file order); aliases join their target's model."""
    grouped: dict[str, _Provider] = {}
    last = {key: i for i, (key, _) in enumerate(pairs)}
    targets: dict[str, tuple[str, int]] = {}  # model key -> (provider, index) of its imported spec
    aliases: list[tuple[int, str, str]] = []
    for i, (key, entry) in enumerate(pairs):
        if key == SAMPLE_KEY:
            continue
        provider = entry.get("litellm_provider") if isinstance(entry, dict) else None
        if isinstance(entry, dict) and provider is None and isinstance(entry.get("alias_of"), str):
            aliases.append((i, key, entry["alias_of"]))
            continue
        provider = provider if isinstance(provider, str) and provider else "(no provider)"
        group = grouped.setdefault(provider, _Provider())
        try:
            if last[key] != i:
                raise Skip("duplicate key", f"the key '{key}' appears again later in the file, whose entry "
                           "replaces this one (as JSON readers, LiteLLM's included, do)")
            if not isinstance(entry, dict):
                raise Skip("not an entry", f"the value of '{key}' is a JSON {type(entry).__name__}, not an object")
            if provider == "(no provider)":
                raise Skip("no provider", "the entry has no litellm_provider, so it belongs to no book")
            group.specs[i] = model_spec(key, entry, provider)
            targets[key] = (provider, i)
        except Skip as skip:
            group.entries[i] = Entry(provider, key, False, skip.reason, skip.category)
    for i, key, target in aliases:
        _add_alias(grouped, targets, i, key, target)
    if providers:
        unknown = [p for p in providers if p not in grouped]
        if unknown:
            raise UnknownProvider(f"the LiteLLM file has no litellm_provider {', '.join(map(repr, unknown))}",
                                  "providers: " + ", ".join(sorted(grouped)))
        grouped = {p: grouped[p] for p in dict.fromkeys(providers)}
    return grouped


def _add_alias(grouped: dict[str, _Provider], targets: dict, i: int, key: str, target: str) -> None:
    """An entry that is only `alias_of` another names that model: an alias of its block, when it can be one."""
    if target not in targets:
        provider = next((p for p, g in grouped.items() for e in g.entries.values() if e.model == target),
                        "(no provider)")
        group = grouped.setdefault(provider, _Provider())
        group.entries[i] = Entry(provider, key, False, f"alias_of '{target}', which is not imported"
                                 if provider != "(no provider)" else f"alias_of '{target}', which the file lacks",
                                 "alias of a model not imported")
        return
    provider, index = targets[target]
    group = grouped[provider]
    spec = group.specs[index]
    taken = {s.id for s in group.specs.values()} | {a for s in group.specs.values() for a in s.aliases}
    if not is_name(key) or key in taken:
        why = "is not a ratecard name" if not is_name(key) else "already names a model of the book"
        group.entries[i] = Entry(provider, key, False, f"alias_of '{target}', but '{key}' {why}", "alias not a name")
        return
    spec.aliases.append(key)
    group.aliases[i] = target
    group.entries[i] = Entry(provider, key, True, notes=[f"an alias of {target} (alias_of)"])


def _provider_book(provider: str, group: _Provider, file: str, file_digest: str) -> ProviderBook | None:
    """The provider's book with every spec that loads; a spec that does not is reported with the diagnostic."""
    from .. import loads

    header = _header(provider, file, file_digest)
    good = dict(group.specs)
    text = _book_text(header, [s.block() for s in good.values()])
    try:
        book = loads(text) if good else None
    except RatecardError:
        for i, spec in list(good.items()):
            try:
                loads(_book_text(header, [spec.block()]))
            except RatecardError as error:
                del good[i]
                group.entries[i] = Entry(provider, spec.id, False, "ratecard rejects it: " + first_error(error),
                                         "rejected by ratecard")
        text = _book_text(header, [s.block() for s in good.values()])
        book = loads(text) if good else None
    for i, spec in good.items():
        group.entries[i] = Entry(provider, spec.id, True, notes=list(spec.notes))
    loaded = {s.id for s in good.values()}
    for i, target in group.aliases.items():
        if target not in loaded:  # its model did not load, and the alias went with it
            group.entries[i] = Entry(provider, group.entries[i].model, False,
                                     f"alias_of '{target}', which is not imported", "alias of a model not imported")
    if not good:
        return None
    return ProviderBook(provider, make_name(provider) + ".rules", text, list(good.values()), book)
