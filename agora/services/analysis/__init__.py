"""What the views say: themes, opinion groups, the opinion map and the charts.

No re-exports: import the module, ``from agora.services.analysis import themes``."""
