"""The service's records. Import models from here so that every table is registered."""

from app.models.base import Base
from app.models.enrollment import (
    Enrollment,
    Graduation,
    PrerequisiteVerification,
    TuitionPayment,
)
from app.models.outcomes import JobOutcome
from app.models.people import Employer, Student
from app.models.school import (
    GuaranteePolicy,
    PolicyPrerequisite,
    PolicyQualifyingType,
    PolicySearchArea,
    Programme,
)

__all__ = [
    "Base",
    "Employer",
    "Enrollment",
    "GuaranteePolicy",
    "Graduation",
    "JobOutcome",
    "PolicyPrerequisite",
    "PolicyQualifyingType",
    "PolicySearchArea",
    "PrerequisiteVerification",
    "Programme",
    "Student",
    "TuitionPayment",
]

# The refund records live with the refunds package; importing them registers their tables.
from refunds.models import (  # noqa: E402
    ClaimAppeal,
    ClaimApproval,
    ClaimTransition,
    ProcessedWebhookEvent,
    RecoveryItem,
    Refund,
    RefundClaim,
)

__all__ += [
    "ClaimAppeal",
    "ClaimApproval",
    "ClaimTransition",
    "ProcessedWebhookEvent",
    "RecoveryItem",
    "Refund",
    "RefundClaim",
]

from app.models.accounts import (  # noqa: E402
    AccountLink,
    ApiToken,
    AuditEvent,
    LinkPurpose,
    RecoveryCode,
    Role,
    User,
    UserSession,
)
from app.models.confirmations import ConfirmationAnswer, HireConfirmation  # noqa: E402

__all__ += [
    "AccountLink",
    "ApiToken",
    "AuditEvent",
    "ConfirmationAnswer",
    "HireConfirmation",
    "LinkPurpose",
    "RecoveryCode",
    "Role",
    "User",
    "UserSession",
]

from app.models.messages import AnnouncedClaim, MessageKind, MessageState, SentMessage  # noqa: E402
from app.models.search import (  # noqa: E402
    ExcludedOutcome,
    SchoolRequest,
    SearchActivity,
    SearchPause,
)

__all__ += [
    "AnnouncedClaim",
    "ExcludedOutcome",
    "MessageKind",
    "MessageState",
    "SchoolRequest",
    "SearchActivity",
    "SearchPause",
    "SentMessage",
]

# The scheduler's own records live with the jobs package.
from jobs.models import SchedulerHeartbeat, SchedulerJobRun  # noqa: E402

__all__ += ["SchedulerHeartbeat", "SchedulerJobRun"]

from app.models.documents import Document, DocumentConcerns, DocumentSource  # noqa: E402

__all__ += ["Document", "DocumentConcerns", "DocumentSource"]
