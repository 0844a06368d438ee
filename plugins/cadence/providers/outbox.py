"""The ``outbox`` provider: each batch becomes one JSON-lines file.

``<out_dir>/outbox/<date>/<batch_id>.jsonl`` is written to a temporary file and renamed
into place, so a crash never leaves half a file, and writing the same batch again
replaces it with identical content: the file's existence is the proof of delivery.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from cadence.providers.base import ACCEPTED, Batch, BatchResult, Message


class OutboxProvider:
    """Writes batches as files; the embedded default, dry runs and simulations."""

    name = "outbox"
    honours_idempotency_key = True  # rewriting a batch file is harmless

    def __init__(self, out_dir: Path, batch_size: int = 1000):
        self.root = Path(out_dir) / "outbox"
        self.max_batch_size = batch_size

    def path(self, batch: Batch) -> Path:
        """Where the batch's file lives."""
        return self.root / batch.send_date.isoformat() / f"{batch.batch_id}.jsonl"

    def batch_key(self, message: Message) -> tuple:
        """One outbox file may mix templates and channels."""
        return ()

    def send_batch(self, batch: Batch) -> BatchResult:
        """Write the batch file atomically (temp file + rename)."""
        target = self.path(batch)
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps({"batch_id": batch.batch_id, **asdict(m)}, sort_keys=True,
                            default=str) for m in batch.messages]
        fd, tmp = tempfile.mkstemp(prefix=f".{batch.batch_id}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write("\n".join(lines) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return BatchResult.uniform(batch, ACCEPTED, f"written {target.name}",
                                   lambda m: f"{batch.batch_id}/{m.touch_id}")

    def reconcile(self, batch: Batch, known: dict[str, str]) -> BatchResult | None:
        """A batch file that exists was delivered; one that does not is written now."""
        if self.path(batch).exists():
            return BatchResult.uniform(batch, ACCEPTED, "file present",
                                       lambda m: f"{batch.batch_id}/{m.touch_id}")
        return self.send_batch(batch)
