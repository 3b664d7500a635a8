"""Buckets in Redis: every bucket of a request checked and charged in one script call.

One EVALSHA per request, whatever the number of buckets (per IP, per
principal, reads and explainInsight): Redis runs the script atomically, so
gateways sharing a Redis never admit more than the quota between them, and
its clock (`TIME`) is the only clock, so their clocks may disagree. The
script is `gcra.admit` in Lua, on integers (doubles hold them exactly up to
2^53 microseconds, about 285 years). A bucket's key expires once it would be
full again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infra.rate_limits.gcra import Admission, BucketState
from infra.rate_limits.policies import Bucket

# KEYS: the buckets. ARGV: interval, capacity, charge per bucket (microseconds).
# Returns {allowed, then remaining, reset, retry per bucket}.
GCRA_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local stored = redis.call('MGET', unpack(KEYS))
local allowed = 1
local starts, ends = {}, {}
for i = 1, #KEYS do
  local capacity, charge = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local start = tonumber(stored[i])
  if start == nil or start < now then start = now end
  starts[i], ends[i] = start, start + charge
  if ends[i] - now > capacity then allowed = 0 end
end
local reply = {allowed}
for i = 1, #KEYS do
  local interval, capacity = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1])
  local retry = ends[i] - now - capacity
  if retry < 0 then retry = 0 end
  local held = starts[i]
  if allowed == 1 then
    held = ends[i]
    if ends[i] > now then
      local ttl = math.ceil((ends[i] - now) / 1000)
      redis.call('SET', KEYS[i], string.format('%.0f', ends[i]), 'PX', ttl)
    end
  end
  local span = capacity - (held - now)
  local remaining = math.floor(span / interval)
  if remaining * interval > span then remaining = remaining - 1 end
  if remaining < 0 then remaining = 0 end
  reply[#reply + 1] = remaining
  reply[#reply + 1] = held - now
  reply[#reply + 1] = retry
end
return reply
"""


class LimiterReplyError(Exception):
    """Redis answered the script with something that is not its reply (a wrong server?)."""


class RedisLimiter:
    """The shared buckets; `client` is a `redis.asyncio.Redis` (timeouts are the caller's)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._script = client.register_script(GCRA_SCRIPT)

    async def warm(self) -> None:
        """Open a connection and load the script, so that the first burst of requests
        neither queues behind connection set-up nor pays NOSCRIPT and a reload each."""
        await self._client.script_load(GCRA_SCRIPT)

    async def acquire(self, buckets: Sequence[Bucket]) -> Admission:
        if not buckets:  # the script's MGET of no key is an error: nothing to count anyway
            return Admission(True, ())
        args: list[int] = []
        for bucket in buckets:
            quota = bucket.limit.quota
            args += (quota.interval, quota.capacity, quota.charge(bucket.quantity))
        reply = await self._script(keys=[b.key for b in buckets], args=args)
        return parse_reply(reply, len(buckets))


def parse_reply(reply: Any, count: int) -> Admission:
    """The script's flat reply as an Admission."""
    if not isinstance(reply, list) or len(reply) != 1 + 3 * count:
        raise LimiterReplyError(f"unexpected rate-limit script reply: {reply!r:.200}")
    states = tuple(
        BucketState(int(reply[i]), int(reply[i + 1]), int(reply[i + 2]))
        for i in range(1, len(reply), 3)
    )
    return Admission(reply[0] == 1, states)
