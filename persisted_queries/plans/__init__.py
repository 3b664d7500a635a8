"""Compiled execution plans for persisted documents (see `compiler`)."""

from persisted_queries.plans.codegen import UnsupportedOperationError
from persisted_queries.plans.compiler import (
    CompiledOperation,
    Fallback,
    PlanCompiler,
    compile_operation,
)

__all__ = [
    "CompiledOperation",
    "Fallback",
    "PlanCompiler",
    "UnsupportedOperationError",
    "compile_operation",
]
