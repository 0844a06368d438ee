"""The cadence Airflow plugin: the calendar view (``cadence.orchestration.calendar_view``)
mounted in the API server under ``/cadence`` and linked from the navigation as "Calendar".

This file is the one Airflow imports from ``plugins/`` (``.airflowignore`` keeps it out of
the ``cadence`` package, which is imported as a normal package).
"""

from airflow.plugins_manager import AirflowPlugin

from cadence.orchestration.calendar_view import create_app


class CadencePlugin(AirflowPlugin):
    name = "cadence"
    fastapi_apps = [
        {"app": create_app(), "url_prefix": "/cadence", "name": "cadence calendar"},
    ]
    # Embedded in the UI (url_route) at /plugin/cadence-calendar; the app checks the token.
    external_views = [
        {"name": "Calendar", "href": "cadence/", "url_route": "cadence-calendar",
         "destination": "nav", "category": "browse"},
    ]
