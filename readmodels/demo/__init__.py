"""A deterministic demo world: stores, catalog, orders, creators and their audiences.

`generate_events` (pure) yields the world as raw events;
`readmodels.demo.seed.seed_demo` (I/O, kept out of this package's imports)
validates and appends them to the event log. Same seed and `now`, same
events, same ids.

Ids are "<prefix>-<n>": stores "s-", creators "cr-", categories "c-",
products "p-", collections "k-", promotions "pr-", customers "cu-", orders
"o-", posts "po-". Social users (follows, engagement) are "u-<n>", a
separate identity from customers "cu-<n>" (no user is also a customer).
Creator n owns store n for n <= scale.stores.

Stories built in for the demo and its tests (see world.py):
- "cr-1" is the viral creator (followed by u-1 .. u-<viral_followers>, about
  a quarter of all engagement); "u-1" is the power user.
- Store "s-2" loses most of its revenue in the last 7 days, "s-3" spikes.
- The bestseller of "s-4" sells down to 5 units over the last 10 days.
- The last hour has an engagement burst on one recent post of a non-viral
  creator, so hourly trending differs from weekly.
"""

from __future__ import annotations

from readmodels.demo.generator import generate_events
from readmodels.demo.scales import SCALES, Scale

__all__ = ["SCALES", "Scale", "generate_events"]
