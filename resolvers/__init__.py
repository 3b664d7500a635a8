"""How a request is answered: per-request DataLoaders, read-time rules, field resolvers.

Field resolvers are plain functions of (row, info, arguments) that return a
value or a loader future; only DataLoader batch functions are async.
"""
