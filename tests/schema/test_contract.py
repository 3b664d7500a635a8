"""The served schema honours the public contract (../shared/contract, copied as a fixture)."""

from __future__ import annotations

from graphql import build_schema, find_breaking_changes, find_dangerous_changes, parse, validate

from schema.build import SDL_PATH, print_sdl
from schema.build import build_schema as served_schema
from tests.conftest import CONTRACT

CONTRACT_SCHEMA = build_schema((CONTRACT / "schema.graphql").read_text())

# Parts of the contract whose issue has not landed yet; each issue removes its lines.
NOT_YET_SERVED: set[str] = set()

# Additions beyond the contract (which allows them), each reviewed: a client that
# never asks for them never sees them.
ADDED_BEYOND_CONTRACT = {
    # Issue 9: machine principals; only a SERVICE token's own `viewer.roles` shows it.
    "Enum value Role.SERVICE was added.",
    # Issue 9: an ADMIN reads a creator's dashboard for support.
    "An optional argument Query.creatorDashboard(creatorId:) was added.",
}

CATALOG_OPERATIONS = sorted(p.stem for p in (CONTRACT / "operations").glob("*.graphql"))


def test_no_breaking_change_against_the_contract_beyond_unbuilt_parts() -> None:
    """Every contract type, field, argument and enum value that is served matches exactly."""
    changes = {
        c.description for c in find_breaking_changes(CONTRACT_SCHEMA, served_schema()._schema)
    }
    assert changes - NOT_YET_SERVED == set()


def test_no_dangerous_change_against_the_contract() -> None:
    """No default value or enum/union membership differs from the contract, beyond the
    reviewed additions."""
    changes = {
        c.description for c in find_dangerous_changes(CONTRACT_SCHEMA, served_schema()._schema)
    }
    assert changes == ADDED_BEYOND_CONTRACT


def test_unbuilt_list_is_not_stale() -> None:
    """Every entry of NOT_YET_SERVED is still missing, so the list shrinks as issues land."""
    changes = {
        c.description for c in find_breaking_changes(CONTRACT_SCHEMA, served_schema()._schema)
    }
    assert NOT_YET_SERVED - changes == set()


def test_catalog_operations_validate_against_the_served_schema() -> None:
    """The contract's catalog operations are valid documents for the served schema."""
    schema = served_schema()._schema
    for name in CATALOG_OPERATIONS:
        document = parse((CONTRACT / "operations" / f"{name}.graphql").read_text())
        assert validate(schema, document) == [], name


def test_printed_schema_snapshot_is_current() -> None:
    """schema/schema.graphql is what `vitrine schema print` writes today."""
    assert SDL_PATH.read_text() == print_sdl()
