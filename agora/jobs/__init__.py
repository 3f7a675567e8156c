"""Background work: jobs take ids, open their own session and call services."""
