"""Dispatch benchmark: how many messages per second reach a SendGrid stand-in on
127.0.0.1 when batched 1000 personalizations per request (not a timed test).

Bounded and self-stopping: the message count is capped, the run stops at its time budget,
and the stand-in server is always shut down.
"""

from __future__ import annotations

import time
from datetime import date

from cadence.devtools.stand_ins import StandIn
from cadence.handoff.dispatch import plan_batches
from cadence.providers.base import HttpClient, Message
from cadence.providers.policy import RetryPolicy, SendGridPolicy
from cadence.providers.sendgrid import SendGridProvider

MAX_MESSAGES = 1_000_000


def dispatch_bench(messages: int, max_seconds: float = 60.0) -> dict:
    """Render ``messages`` emails, batch them and hand them to a local stand-in; returns
    messages, requests, accepted, seconds, messages_per_second and whether the time budget
    stopped the run early."""
    count = max(1, min(int(messages), MAX_MESSAGES))
    server = StandIn("sendgrid").start()
    try:
        retry = RetryPolicy(max_attempts=3, initial_backoff_seconds=0.01,
                            max_backoff_seconds=0.1, max_total_seconds=10)
        provider = SendGridProvider(HttpClient(server.url, {}, retry, 10_000),
                                    SendGridPolicy(batch_size=1000))
        started = time.perf_counter()
        batch_list = plan_batches(
            [Message(f"t{i:07d}", f"c{i}", f"c{i}@example.com", "email", "educational",
                     "educational", "d-bench", {"first_name": "Ada", "company": "Acme"})
             for i in range(count)],
            {"email": "sendgrid"}, {"sendgrid": provider}, date(2026, 1, 1))
        accepted, sent, stopped_early = 0, 0, False
        for batch in batch_list:
            if time.perf_counter() - started > max_seconds:
                stopped_early = True
                break
            result = provider.send_batch(batch)
            sent += len(batch.messages)
            accepted += sum(o.status == "accepted" for o in result.outcomes)
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    return {"messages": sent, "requests": len(server.received), "accepted": accepted,
            "seconds": round(seconds, 3),
            "messages_per_second": round(sent / seconds, 1) if seconds else None,
            "stopped_early": stopped_early}
