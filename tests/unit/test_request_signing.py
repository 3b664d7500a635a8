"""Request signatures and API keys as pure functions: canonical string, verify, key shapes."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from infra.api_keys.keys import (
    ADMIN,
    EVENTS,
    check_name,
    check_scopes,
    key_id_of,
    key_matches,
    key_sha256,
    new_key,
    new_signing_secret,
)
from infra.api_keys.signing import (
    SignatureError,
    SignedParts,
    canonical_string,
    parse_signed_parts,
    sign,
    verify,
)

SECRET = "vsig_test-secret-0123456789abcdefghijklmnopqrstuv"
OTHER_SECRET = "vsig_other-secret-0123456789abcdefghijklmnopqrst"
NOW = 1_800_000_000
NONCE = "n0nce-0123456789abcdef"
BODY = b'[{"id":"e1"}]'


def headers_of(secret: str = SECRET, **overrides: object) -> dict[str, str]:
    request: dict[str, object] = {
        "method": "POST",
        "path": "/events",
        "query": "",
        "body": BODY,
        "timestamp": NOW,
        "nonce": NONCE,
    }
    request.update(overrides)
    signed = sign(secret, **request)  # type: ignore[arg-type]
    return {name.lower(): value for name, value in signed.items()}


def check(
    headers: dict[str, str],
    *,
    secrets: tuple[str, ...] = (SECRET,),
    method: str = "POST",
    path: str = "/events",
    query: str = "",
    body: bytes = BODY,
    now: float = NOW,
) -> None:
    verify(
        parse_signed_parts(headers),
        secrets,
        method=method,
        path=path,
        query=query,
        body=body,
        now=now,
    )


def test_the_canonical_string_is_the_documented_seven_lines() -> None:
    """The canonical string is the domain, method, path, query, body hash, timestamp, nonce."""
    canonical = canonical_string(
        method="post", path="/events", query="a=1", body=BODY, timestamp=NOW, nonce=NONCE
    )
    assert canonical == (
        b"vitrine-v1\nPOST\n/events\na=1\n"
        + hashlib.sha256(BODY).hexdigest().encode()
        + b"\n1800000000\nn0nce-0123456789abcdef"
    )


def test_the_signature_is_hmac_sha256_of_the_canonical_string() -> None:
    """The v1 signature is the hex HMAC-SHA256 of the canonical string under the secret."""
    canonical = canonical_string(
        method="POST", path="/events", query="", body=BODY, timestamp=NOW, nonce=NONCE
    )
    expected = hmac.new(SECRET.encode(), canonical, hashlib.sha256).hexdigest()
    assert headers_of() == {
        "vitrine-timestamp": "1800000000",
        "vitrine-nonce": NONCE,
        "vitrine-signature": f"v1={expected}",
    }


def test_a_correct_signature_verifies() -> None:
    """A request signed with the key's secret verifies."""
    check(headers_of())


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        (NOW + 300, True),
        (NOW + 300.999, True),
        (NOW + 301, False),
        (NOW - 300, True),
        (NOW - 301, False),
    ],
)
def test_the_timestamp_window_is_300_seconds_either_way(now: float, accepted: bool) -> None:
    """A timestamp 300 s old or ahead is accepted, 301 s is refused, counted in whole seconds."""
    if accepted:
        check(headers_of(), now=now)
    else:
        with pytest.raises(SignatureError, match="at most 300 s"):
            check(headers_of(), now=now)


@pytest.mark.parametrize(
    "change",
    [
        {"method": "PUT"},
        {"path": "/events/other"},
        {"query": "client=x"},
        {"body": BODY + b" "},
    ],
)
def test_any_change_to_the_request_breaks_the_signature(change: dict[str, object]) -> None:
    """Method, path, query and body are all covered by the signature."""
    with pytest.raises(SignatureError, match="no signature matches"):
        check(headers_of(), **change)  # type: ignore[arg-type]


def test_a_changed_timestamp_or_nonce_breaks_the_signature() -> None:
    """The timestamp and nonce headers are covered too."""
    for name, value in (("vitrine-timestamp", str(NOW - 1)), ("vitrine-nonce", NONCE + "x")):
        with pytest.raises(SignatureError, match="no signature matches"):
            check({**headers_of(), name: value})


def test_any_active_secret_verifies_and_one_matching_entry_suffices() -> None:
    """During a rotation either secret verifies, and a header may carry both signatures."""
    check(headers_of(OTHER_SECRET), secrets=(SECRET, OTHER_SECRET))
    both = headers_of()["vitrine-signature"] + ", " + headers_of(OTHER_SECRET)["vitrine-signature"]
    check({**headers_of(), "vitrine-signature": both}, secrets=(OTHER_SECRET,))
    with pytest.raises(SignatureError, match="no signature matches"):
        check(headers_of(OTHER_SECRET), secrets=(SECRET,))
    with pytest.raises(SignatureError, match="no active signing secret"):
        check(headers_of(), secrets=())


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing header"),
        ({"vitrine-timestamp": "soon"}, "not an integer"),
        ({"vitrine-timestamp": "-5"}, "not an integer"),
        ({"vitrine-nonce": "short"}, "16 to 128"),
        ({"vitrine-nonce": "has spaces in it, many"}, "16 to 128"),
        ({"vitrine-signature": "abc"}, "no v1="),
        ({"vitrine-signature": "v2=" + "0" * 64}, "no v1="),
        ({"vitrine-signature": "v1=" + "0" * 63}, "no v1="),
        ({"vitrine-signature": ",".join(["v1=" + "0" * 64] * 5)}, "more than 4"),
    ],
)
def test_malformed_signature_headers_are_refused(headers: dict[str, str], reason: str) -> None:
    """Missing or malformed signature headers raise SignatureError saying what is wrong."""
    given = {} if headers == {} else {**headers_of(), **headers}
    with pytest.raises(SignatureError, match=reason):
        parse_signed_parts(given)


def test_parsed_parts_hold_the_header_values() -> None:
    """Parsing keeps the timestamp as an int, the nonce, and every v1 signature."""
    parts = parse_signed_parts(headers_of())
    assert parts == SignedParts(NOW, NONCE, (headers_of()["vitrine-signature"][3:],))


def test_a_new_key_has_the_documented_shape_and_only_its_hash_matches() -> None:
    """Keys read vk_<16 hex>_<43 chars>; the id is extracted; the hash matches only the key."""
    made = new_key()
    assert key_id_of(made.key) == made.id
    assert len(made.id) == 16
    assert made.sha256 == key_sha256(made.key) == hashlib.sha256(made.key.encode()).hexdigest()
    assert key_matches(made.key, made.sha256)
    assert not key_matches(made.key[:-1] + ("A" if made.key[-1] != "A" else "B"), made.sha256)
    assert key_id_of("vk_short_secret") is None
    assert key_id_of("e2e-service-token") is None
    assert new_signing_secret().startswith("vsig_")
    assert new_key().key != made.key


def test_names_and_scopes_are_checked() -> None:
    """A key needs a name of 1-100 characters and known scopes; events keys must sign."""
    assert check_name("  billing  ") == "billing"
    assert check_scopes(("admin", "events", "admin"), signing=True) == (EVENTS, ADMIN)
    assert check_scopes(("admin",), signing=False) == (ADMIN,)
    for name, message in (("  ", "name the key"), ("x" * 101, "at most 100")):
        with pytest.raises(ValueError, match=message):
            check_name(name)
    for scopes, signing, message in (
        ((), True, "at least one --scope"),
        (("root",), True, "unknown scope 'root'"),
        (("events",), False, "must sign its requests"),
    ):
        with pytest.raises(ValueError, match=message):
            check_scopes(scopes, signing=signing)
