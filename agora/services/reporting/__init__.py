"""From the views to the forum: reports (a package), the report summary, forum responses,
archives (safe zip reading) and the secretariat's dashboard.

No re-exports: import the module, ``from agora.services.reporting import reports``."""
