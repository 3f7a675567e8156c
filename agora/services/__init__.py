"""The domain: plain arguments in, models or dataclasses out; services own the transaction."""
