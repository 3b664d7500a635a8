"""The projector engine: checkpointed, idempotent application of the log to read models."""

from readmodels.projector.batch import BatchOutcome, run_batch
from readmodels.projector.projection import Projection

__all__ = ["BatchOutcome", "Projection", "run_batch"]
