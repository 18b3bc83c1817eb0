"""The limits of what ratecard bills, in one place.

Gives the largest counts a usage record or a quote may carry and the range of
timestamps a bill can hold. Everything the engine accepts within them is
priced exactly (decimal arithmetic with precision to spare); anything beyond
them is refused with a reason that names the limit, never a traceback.
"""

from __future__ import annotations

from datetime import datetime, timezone

MAX_COUNT_DIGITS = 15
MAX_TOKENS = 10**MAX_COUNT_DIGITS  # tokens of one type per request: below this
MAX_REQUESTS = 10**12  # requests one record or quote stands for: at most this
MAX_LINE_BYTES = 65_536  # one line of a usage file (below the csv module's own field limit)
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)  # timestamps from here ...
LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)  # ... up to (not including) here
TIME_RANGE = "from 1970-01-01T00:00:00Z up to 9000-01-01T00:00:00Z"
