"""Taking part: consultations, submissions (+ group_commit, the batching writer below it),
the voting card, search, offline (CSV), SMS and imports (Pol.is).

No re-exports: import the module, ``from agora.services.participation import consultations``."""
