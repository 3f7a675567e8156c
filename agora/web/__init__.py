"""Page blueprints, one per domain; templates live in templates/<blueprint>/."""
