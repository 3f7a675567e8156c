"""Reports of aggregated opinion: build, review, freeze (canonical JSON + SHA-256), export,
verify and transmit to forums.

A frozen report never changes; a correction is a new version that supersedes it. Reports hold
aggregates and verbatim quotes only: no participant's name, account or id.

One module per job, each importing only the ones before it: encoding, content, exports,
lifecycle, verification, transmission. Callers keep using ``reports.X``: the public names are
re-exported here.
"""

from agora.services.reporting.reports.content import (
    DOMINANCE,
    NOT_STATED,
    REGION_DOMINANCE,
    SCHEMA,
    build,
)
from agora.services.reporting.reports.encoding import (
    canonical,
    content_of,
    digest,
)
from agora.services.reporting.reports.exports import (
    PACKAGE_EPOCH,
    build_package,
    csv_tables,
    render_html,
    render_pdf,
    template_context,
)
from agora.services.reporting.reports.lifecycle import (
    all_for_admin,
    create_draft,
    freeze,
    get,
    new_version,
    public_list,
    readable,
    regenerate,
)
from agora.services.reporting.reports.transmission import (
    WEBHOOK_ATTEMPTS,
    create_forum,
    deliver,
    forums,
    signature,
    transmissions_of,
    transmit,
)
from agora.services.reporting.reports.verification import (
    MAX_MANIFEST_BYTES,
    MAX_PACKAGE_BYTES,
    PACKAGE_NAME,
    PackageContents,
    Verification,
    package_sha256,
    read_package,
    verify_package,
    verify_report,
)

__all__ = [
    "DOMINANCE",
    "MAX_MANIFEST_BYTES",
    "MAX_PACKAGE_BYTES",
    "NOT_STATED",
    "PACKAGE_EPOCH",
    "PACKAGE_NAME",
    "PackageContents",
    "REGION_DOMINANCE",
    "SCHEMA",
    "Verification",
    "WEBHOOK_ATTEMPTS",
    "all_for_admin",
    "build",
    "build_package",
    "canonical",
    "content_of",
    "create_draft",
    "create_forum",
    "csv_tables",
    "deliver",
    "digest",
    "forums",
    "freeze",
    "get",
    "new_version",
    "package_sha256",
    "public_list",
    "read_package",
    "readable",
    "regenerate",
    "render_html",
    "render_pdf",
    "signature",
    "template_context",
    "transmissions_of",
    "transmit",
    "verify_package",
    "verify_report",
]
