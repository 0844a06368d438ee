"""The one error base the Airflow wiring needs to know about.

A domain error that retrying the task cannot fix (a bad or missing source file, a reject
rate over its threshold, an invalid policy, a misconfigured provider or CRM mapping)
derives from :class:`RetryCannotHelp`; the DAG tasks fail at once on it instead of waiting
out their retries. Network errors do not derive from it and keep their retries.
Kept free of imports: DAG files import it at parse time.
"""

from __future__ import annotations


class RetryCannotHelp(Exception):
    """Raised by domain code when the same input would fail the same way on every try."""
