"""Rate limits, the pure parts: quotas, GCRA against a reference token bucket, client
addresses behind proxies, the RateLimit header fields, root fields and node ids of
operations."""

from __future__ import annotations

import ipaddress
from fractions import Fraction

import pytest
from graphql import parse
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.rate_limits.client_ip import TrustedProxies, parse_address, parse_networks, peer_key
from infra.rate_limits.gcra import Admission, BucketState, Cell, admit
from infra.rate_limits.headers import rate_limit_headers
from infra.rate_limits.limiter import Decision
from infra.rate_limits.local_limiter import LocalLimiter
from infra.rate_limits.operations import NodeId, root_field_names, root_selections
from infra.rate_limits.policies import (
    COST,
    Bucket,
    Limit,
    Policies,
    Quota,
    QuotaError,
    parse_quota,
    policy,
)
from infra.settings import SettingsError, load_settings

SECOND = 1_000_000
FRAGMENTS = """
query Explain { ...Twice  a: explainInsight(id: "1") { summary } }
fragment Twice on Query { ...Once ...Once }
fragment Once on Query { explainInsight(id: "2") { summary } ... on Query { viewer { id } } }
mutation Dismiss { dismissInsight(id: "1") { insight { id } } }
"""


@pytest.mark.parametrize(
    ("text", "limit", "window"),
    [
        ("600/minute", 600, 60),
        ("10 per 2 seconds", 10, 2),
        (" 7 / 2 minutes ", 7, 120),
        ("5/MINUTE", 5, 60),
        ("100/day", 100, 86_400),
    ],
)
def test_quotas_parse_the_limits_library_way(text: str, limit: int, window: int) -> None:
    """A quota is `<count>/<period>` or `<count> per <n> <periods>`, as `limits` reads it."""
    quota = parse_quota(text)
    assert quota is not None
    assert (quota.limit, quota.window) == (limit, window)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ten/minute", "expected <count>/<period>"),
        ("0/minute", "at least 1"),
        ("5 per 0 seconds", "at least one second"),
        ("1/second;10/minute", "one quota per setting"),
        ("", "expected <count>/<period>"),
    ],
)
def test_bad_quotas_say_what_is_expected(text: str, message: str) -> None:
    """A quota that does not parse, counts nothing or has no window is refused with a reason."""
    with pytest.raises(QuotaError, match=message):
        parse_quota(text)


def test_off_turns_a_quota_off() -> None:
    """`off` (any case) is no quota: that scope of the policy is not limited."""
    assert parse_quota(" OFF ") is None
    reads = policy("reads", "off", "5/minute")
    assert reads.per_principal is None
    assert reads.per_ip is not None
    assert reads.per_ip.name == "reads-ip"


def test_a_full_bucket_admits_exactly_its_limit_even_when_the_interval_is_rounded() -> None:
    """7 per minute: the interval rounds up to whole microseconds, the burst is still 7."""
    quota = Quota.of(7, 60)
    assert quota.interval == 8_571_429
    cells = [Cell(quota.interval, quota.capacity, quota.charge(1))]
    tat: int | None = None
    admitted = 0
    for _ in range(10):
        admission, ends = admit([tat], 1_000 * SECOND, cells)
        if admission.allowed:
            admitted += 1
            tat = ends[0]
    assert admitted == 7


def test_a_rejection_charges_no_bucket_and_names_the_wait() -> None:
    """All or nothing: when one bucket refuses, none is charged, and the retry is that
    bucket's wait; the admitting bucket reports what it still has."""
    tight, loose = Quota.of(1, 60), Quota.of(100, 60)
    cells = [
        Cell(tight.interval, tight.capacity, tight.charge(1)),
        Cell(loose.interval, loose.capacity, loose.charge(1)),
    ]
    now = 5_000 * SECOND
    first, ends = admit([None, None], now, cells)
    assert first == Admission(True, (BucketState(0, 60 * SECOND, 0), BucketState(99, 600_000, 0)))
    later = now + 15 * SECOND
    second, _ = admit(ends, later, cells)
    assert second.allowed is False
    assert second.states == (
        BucketState(0, 45 * SECOND, 45 * SECOND),
        BucketState(100, 0, 0),
    )
    assert second.retry_after == 45


def test_a_charge_bigger_than_the_bucket_takes_all_of_it() -> None:
    """A request costing more than the quota waits for a full bucket, never forever."""
    quota = Quota.of(10, 10)
    assert quota.charge(25) == quota.capacity
    admission, _ = admit([None], 0, [Cell(quota.interval, quota.capacity, quota.charge(25))])
    assert admission.allowed is True
    assert admission.states[0].remaining == 0


class ReferenceBucket:
    """A token bucket in exact fractions: the behaviour GCRA must reproduce."""

    def __init__(self, quota: Quota) -> None:
        self.quota = quota
        self.tokens = Fraction(quota.limit)
        self.at: int | None = None

    def refill(self, now: int) -> Fraction:
        if self.at is not None:
            gained = Fraction(now - self.at, self.quota.interval)
            self.tokens = min(Fraction(self.quota.limit), self.tokens + gained)
        self.at = now
        return self.tokens


requests = st.lists(
    st.tuples(st.integers(0, 3 * SECOND), st.integers(0, 1), st.integers(1, 12)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    limits=st.lists(st.tuples(st.integers(1, 10), st.integers(1, 20)), min_size=1, max_size=3),
    steps=requests,
)
def test_gcra_decides_like_a_token_bucket(
    limits: list[tuple[int, int]], steps: list[tuple[int, int, int]]
) -> None:
    """Against exact token buckets, GCRA admits and refuses the same requests (all or
    nothing over several buckets) and reports the same remaining units and reset."""
    quotas = [Quota.of(limit, window) for limit, window in limits]
    references = [ReferenceBucket(q) for q in quotas]
    tats: list[int | None] = [None] * len(quotas)
    now = 10**15
    for gap, _, quantity in steps:
        now += gap
        cells = [Cell(q.interval, q.capacity, q.charge(quantity)) for q in quotas]
        admission, ends = admit(tats, now, cells)
        tokens = [r.refill(now) for r in references]
        wanted = [min(quantity, q.limit) for q in quotas]
        expected = all(t >= w for t, w in zip(tokens, wanted, strict=True))
        assert admission.allowed is expected
        if expected:
            for reference, w in zip(references, wanted, strict=True):
                reference.tokens -= w
            tats = list(ends)
        for state, reference, quota in zip(admission.states, references, quotas, strict=True):
            assert state.remaining == int(reference.tokens)
            assert state.reset == (quota.limit - reference.tokens) * quota.interval


@settings(max_examples=300, deadline=None)
@given(limit=st.integers(1, 10), window=st.integers(1, 20), steps=requests)
def test_gcra_never_admits_more_than_the_burst_and_the_rate_in_any_window(
    limit: int, window: int, steps: list[tuple[int, int, int]]
) -> None:
    """In any span of time, what is admitted is at most a full bucket plus what refills
    during the span (`limit` at once, one unit per interval after that)."""
    quota = Quota.of(limit, window)
    tat: int | None = None
    now = 0
    admitted: list[tuple[int, int]] = []
    for gap, same_instant, quantity in steps:
        now += 0 if same_instant else gap
        cell = Cell(quota.interval, quota.capacity, quota.charge(quantity))
        admission, ends = admit([tat], now, [cell])
        if admission.allowed:
            tat = ends[0]
            admitted.append((now, min(quantity, limit)))
    for i, (start, _) in enumerate(admitted):
        for end, _ in admitted[i:]:
            inside = sum(q for t, q in admitted if start <= t <= end)
            assert inside * quota.interval <= quota.capacity + (end - start)


def test_local_buckets_stay_bounded_under_a_flood_of_clients() -> None:
    """Past `max_keys`, full buckets go first, then the least recently charged ones."""
    clock = [0]
    local = LocalLimiter(clock=lambda: clock[0], max_keys=100)
    limit = Limit("reads-ip", Quota.of(10, 1))
    for n in range(1_000):
        assert local.acquire([Bucket(limit, f"ip:{n}", 1)]).allowed
    assert len(local) <= 100
    clock[0] = 10 * SECOND
    local.acquire([Bucket(limit, "ip:new", 1)])
    assert len(local) <= 100


PROXIES = TrustedProxies(parse_networks(["10.0.0.0/8", "127.0.0.1"]))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # untrusted peer: header ignored
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # client-written left part
        ("127.0.0.1", ["6.6.6.6", "198.51.100.1, 10.1.2.3"], "198.51.100.1"),  # 2 fields
        ("127.0.0.1", ["10.9.9.9, 10.1.2.3"], "10.9.9.9"),  # all trusted: the farthest
        ("127.0.0.1", ["198.51.100.1, not-an-ip"], "127.0.0.1"),  # broken chain: the proxy
        ("127.0.0.1", ["198.51.100.1, garbage, 10.1.2.3"], "10.1.2.3"),
        ("127.0.0.1", [" , 198.51.100.1 ,, "], "198.51.100.1"),  # empty elements mean nothing
        ("127.0.0.1", ["198.51.100.1:4711"], "198.51.100.1"),
        ("127.0.0.1", ["[2001:db8:1:2:3:4:5:6]:443"], "2001:db8:1:2::/64"),
        ("127.0.0.1", ["::ffff:198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["x" * 10_000], "127.0.0.1"),
        ("2001:db8::1", [], "2001:db8::/64"),
        (None, ["198.51.100.1"], "unknown"),
    ],
)
def test_the_client_is_the_rightmost_address_no_trusted_proxy_wrote(
    peer: str | None, forwarded: list[str], client: str
) -> None:
    """X-Forwarded-For counts only from a trusted peer, read from the right; a client
    cannot pick its key, and a malformed entry never loosens anything."""
    assert PROXIES.client(peer, forwarded) == client


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    """No trusted proxies: X-Forwarded-For is never read."""
    assert TrustedProxies().client("127.0.0.1", ["198.51.100.1"]) == "127.0.0.1"
    assert peer_key("::1") == "::/64"
    assert parse_address("[::1") is None


def test_bad_trusted_proxies_fail_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """A trusted proxy that is not a CIDR stops the start, naming the variable."""
    monkeypatch.setenv("VITRINE_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    with pytest.raises(SettingsError, match=r"VITRINE_TRUSTED_PROXIES.*'proxy.internal'"):
        load_settings()
    monkeypatch.setenv("VITRINE_TRUSTED_PROXIES", " 10.0.0.0/8 ,::1")
    assert load_settings().trusted_proxies == ("10.0.0.0/8", "::1")
    assert parse_networks(["10.1.2.3/8"]) == (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VITRINE_RATE_LIMIT_READS", "lots"),
        ("VITRINE_RATE_LIMIT_EVENTS_PER_IP", "5 per 0 minutes"),
        ("VITRINE_RATE_LIMITS", "sometimes"),
    ],
)
def test_bad_rate_limit_settings_fail_at_start(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """A quota or mode that does not parse stops the start, naming the variable."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_the_headers_name_each_bucket_with_its_quota_and_state() -> None:
    """RateLimit-Policy lists quota and window, RateLimit what is left and the seconds
    until full (rounded up); a cost quota says its unit."""
    reads = Limit("reads", Quota.of(1200, 60), COST)
    reads_ip = Limit("reads-ip", Quota.of(6000, 60))
    headers = rate_limit_headers(
        [Bucket(reads, "k1", 5), Bucket(reads_ip, "k2", 1)],
        [BucketState(1195, 250_000, 0), BucketState(5999, 10_000, 0)],
    )
    assert headers == {
        "RateLimit-Policy": '"reads";q=1200;w=60;vitrine-unit="cost", "reads-ip";q=6000;w=60',
        "RateLimit": '"reads";r=1195;t=1, "reads-ip";r=5999;t=1',
    }


def test_a_rejection_names_the_tightest_policy_and_the_whole_seconds_to_wait() -> None:
    """The 429's error says RATE_LIMITED, the policy that keeps it waiting longest and
    `retryAfter` rounded up, which Retry-After repeats."""
    reads = Limit("reads", Quota.of(10, 60))
    explain = Limit("explain-ip", Quota.of(2, 60))
    decision = Decision(
        (Bucket(reads, "a", 1), Bucket(explain, "b", 1)),
        Admission(False, (BucketState(3, 42 * SECOND, 0), BucketState(0, 60 * SECOND, 29_500_000))),
        enforced=True,
    )
    assert decision.rejected is True
    assert decision.rejection() == {
        "message": "rate limit exceeded (explain-ip): retry in 30 s",
        "extensions": {"code": "RATE_LIMITED", "retryAfter": 30, "policy": "explain-ip"},
    }
    assert decision.headers()["Retry-After"] == "30"
    shadow = Decision(decision.buckets, decision.admission, enforced=False)
    assert shadow.rejected is False
    assert shadow.headers() == {}


def test_root_fields_are_counted_by_name_through_fragments() -> None:
    """Aliases count under the field's name, fragments and inline fragments are followed,
    and each operation has its own count."""
    found = root_field_names(parse(FRAGMENTS))
    assert found == {
        "Explain": {"explainInsight": 3, "viewer": 2},
        "Dismiss": {"dismissInsight": 1},
    }


def test_fragment_chains_are_counted_without_expanding_them() -> None:
    """Forty fragments each spreading the next twice: 2^40 selections, counted at once."""
    depth = 40
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(depth)]
    fragments.append(f'fragment F{depth} on Query {{ explainInsight(id: "1") {{ summary }} }}')
    document = parse("query Q { ...F0 }\n" + "\n".join(fragments))
    assert root_field_names(document) == {"Q": {"explainInsight": 2**depth}}


def test_policies_charge_the_principal_and_the_ip() -> None:
    """A request pays each policy per principal (when there is one) and per IP."""
    reads = policy("reads", "10/minute", "100/minute")
    explain = policy("explain", "off", "5/minute")
    policies = Policies(reads, policy("writes", "1/minute", "off"), explain, reads)
    buckets = policies.buckets(((reads, 3), (explain, 2)), "1.2.3.4", "sub:alice")
    assert [(b.limit.name, b.key, b.quantity) for b in buckets] == [
        ("reads", "{vitrine:rl}:reads:sub:alice", 3),
        ("reads-ip", "{vitrine:rl}:reads-ip:1.2.3.4", 3),
        ("explain-ip", "{vitrine:rl}:explain-ip:1.2.3.4", 2),
    ]
    anonymous = policies.buckets(((policies.writes, 1),), "1.2.3.4", None)
    assert anonymous == ()


def test_root_node_ids_are_read_once_with_variables_and_their_defaults() -> None:
    """Each operation keeps its root `node` ids, literal or variable (with the operation's
    default), counted through aliases and fragments; nested `node`s and Int ids are not."""
    document = parse(
        """
        query A($v: ID! = "dflt", $w: ID!) {
          a: node(id: "lit") { id } b: node(id: "lit") { id } ...Nodes
          c: node(id: $v) { id } d: node(id: 7) { id }
        }
        query B($w: ID!) { ...Nodes ...Nodes product(slug: "x") { node: title } }
        fragment Nodes on Query { node(id: $w) { id } }
        """
    )
    found = root_selections(document)
    assert found["A"].fields == {"node": 5}
    assert found["A"].node_ids == (
        (NodeId(literal="lit"), 2),
        (NodeId(variable="w"), 1),
        (NodeId(literal="dflt", variable="v"), 1),
    )
    assert found["B"].fields == {"node": 2, "product": 1}
    assert found["B"].node_ids == ((NodeId(variable="w"), 2),)
