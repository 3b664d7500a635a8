"""The authenticated caller: `Query.viewer`, its roles and segments."""
