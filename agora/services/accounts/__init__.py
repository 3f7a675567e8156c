"""People and their organisations: accounts (sign-in, sessions, tokens, profiles),
organisations (members, networks, accreditation), notifications, mail (the outbox).

No re-exports: import the module, ``from agora.services.accounts import accounts``."""
