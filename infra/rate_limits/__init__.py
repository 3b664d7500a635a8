"""Rate limits: GCRA buckets per client IP and per principal, shared through Redis.

`policies` says what is limited (reads, writes, explainInsight, /events), `gcra`
is the arithmetic, `redis_limiter` and `local_limiter` hold the buckets,
`limiter` chooses between them (Redis while it answers, this process when it
does not), `gate` is what the HTTP endpoints call, `headers` and `client_ip`
are the pure HTTP parts.
"""
