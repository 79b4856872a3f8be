"""What people read for each coded value: a claim's state, a contract type, a role ...

Stored values stay English codes (``owed_refund``); people read a label in their language
(``owed refund``, ``remboursement dû``). The ``words`` filter of the templates reads this table;
a value it does not know is shown as its code with spaces.
"""

from __future__ import annotations

from enum import Enum

from flask_babel import lazy_gettext, lazy_pgettext

from app.guarantee.obligations import WeekState
from app.guarantee.public_outcomes import GuaranteeOutcome
from app.guarantee.rules import ClaimDeadlineStanding, GuaranteeState
from app.guarantee.terms import (
    CirrIntent,
    EmploymentType,
    EnrollmentStatus,
    ExclusionReason,
    OfferDecision,
    OutcomeSource,
    OutcomeStatus,
    PauseReason,
    PayerType,
    SearchActivityKind,
    WindowStart,
    WorkAuthorisation,
)
from app.models.accounts import LinkPurpose, Role
from app.models.confirmations import ConfirmationAnswer
from app.models.documents import DocumentConcerns, DocumentSource
from app.models.messages import MessageKind, MessageState
from refunds.states import ClaimState, RefundState

#: Each coded value's label, under its kind (values are strings: a claim's ``failed`` equals a
#: refund's). Where one English word names states of different things, a context tells them
#: apart for the translators.
LABELS: dict[tuple[type[Enum], Enum], object] = {
    (ClaimState, ClaimState.FLAGGED): lazy_gettext("flagged"),
    (ClaimState, ClaimState.IN_REVIEW): lazy_gettext("in review"),
    (ClaimState, ClaimState.AWAITING_SECOND_APPROVAL): lazy_gettext("awaiting second approval"),
    (ClaimState, ClaimState.APPROVED): lazy_gettext("approved"),
    (ClaimState, ClaimState.REJECTED): lazy_gettext("rejected"),
    (ClaimState, ClaimState.WITHDRAWN): lazy_gettext("withdrawn"),
    (ClaimState, ClaimState.PAYING): lazy_gettext("paying"),
    (ClaimState, ClaimState.REFUNDED): lazy_gettext("refunded"),
    (ClaimState, ClaimState.FAILED): lazy_pgettext("claim", "failed"),
    (ClaimState, ClaimState.SETTLED_MANUALLY): lazy_pgettext("claim", "settled manually"),
    (RefundState, RefundState.PENDING): lazy_gettext("pending"),
    (RefundState, RefundState.SUBMITTING): lazy_gettext("submitting"),
    (RefundState, RefundState.PROCESSING): lazy_gettext("processing"),
    (RefundState, RefundState.SUCCEEDED): lazy_gettext("succeeded"),
    (RefundState, RefundState.FAILED): lazy_pgettext("refund", "failed"),
    (RefundState, RefundState.CANCELED): lazy_gettext("canceled"),
    (RefundState, RefundState.SETTLED_MANUALLY): lazy_pgettext("refund", "settled manually"),
    (GuaranteeState, GuaranteeState.NOT_COVERED): lazy_gettext("not covered"),
    (GuaranteeState, GuaranteeState.IN_WINDOW): lazy_gettext("in window"),
    (GuaranteeState, GuaranteeState.PLACED): lazy_gettext("placed"),
    (GuaranteeState, GuaranteeState.OWED_REFUND): lazy_gettext("owed refund"),
    (GuaranteeState, GuaranteeState.PAST_CLAIM_DEADLINE): lazy_gettext("past claim deadline"),
    (GuaranteeState, GuaranteeState.EXCLUDED): lazy_gettext("excluded"),
    (ClaimDeadlineStanding, ClaimDeadlineStanding.OPEN): lazy_gettext("open"),
    (ClaimDeadlineStanding, ClaimDeadlineStanding.DUE_SOON): lazy_gettext("due soon"),
    (ClaimDeadlineStanding, ClaimDeadlineStanding.PAST): lazy_gettext("past"),
    (EmploymentType, EmploymentType.FULL_TIME_PERMANENT): lazy_gettext("full time permanent"),
    (EmploymentType, EmploymentType.FIXED_TERM_CONTRACT): lazy_gettext("fixed term contract"),
    (EmploymentType, EmploymentType.APPRENTICESHIP): lazy_gettext("apprenticeship"),
    (EmploymentType, EmploymentType.INTERNSHIP): lazy_gettext("internship"),
    (EmploymentType, EmploymentType.FREELANCE): lazy_gettext("freelance"),
    (EmploymentType, EmploymentType.PART_TIME): lazy_gettext("part time"),
    (EmploymentType, EmploymentType.FOUNDED_COMPANY): lazy_gettext("founded company"),
    (WindowStart, WindowStart.QUALIFICATION_DATE): lazy_gettext("qualification date"),
    (WindowStart, WindowStart.DAY_AFTER_QUALIFICATION): lazy_gettext("day after qualification"),
    (WindowStart, WindowStart.FIRST_MONDAY_AFTER_QUALIFICATION): lazy_gettext(
        "first monday after qualification"
    ),
    (OutcomeStatus, OutcomeStatus.REPORTED): lazy_gettext("reported"),
    (OutcomeStatus, OutcomeStatus.CONFIRMED): lazy_gettext("confirmed"),
    (OutcomeStatus, OutcomeStatus.DISPUTED): lazy_gettext("disputed"),
    (OutcomeSource, OutcomeSource.GRADUATE): lazy_gettext("graduate"),
    (OutcomeSource, OutcomeSource.EMPLOYER): lazy_gettext("employer"),
    (OutcomeSource, OutcomeSource.REGISTRAR): lazy_gettext("registrar"),
    (OutcomeSource, OutcomeSource.RECRUITER): lazy_gettext("recruiter"),
    (OutcomeSource, OutcomeSource.EMPLOYMENT_HISTORY_SERVICE): lazy_gettext(
        "employment history service"
    ),
    (CirrIntent, CirrIntent.IN_FIELD_JOB): lazy_gettext("in field job"),
    (CirrIntent, CirrIntent.OUT_OF_FIELD_JOB): lazy_gettext("out of field job"),
    (CirrIntent, CirrIntent.FURTHER_STUDY): lazy_gettext("further study"),
    (CirrIntent, CirrIntent.NOT_SEEKING_WORK): lazy_gettext("not seeking work"),
    (SearchActivityKind, SearchActivityKind.APPLICATION): lazy_gettext("application"),
    (SearchActivityKind, SearchActivityKind.INTERVIEW): lazy_gettext("interview"),
    (SearchActivityKind, SearchActivityKind.OFFER): lazy_gettext("offer"),
    (SearchActivityKind, SearchActivityKind.COACHING_CHECKIN): lazy_gettext("coaching checkin"),
    (OfferDecision, OfferDecision.PENDING): lazy_gettext("pending"),
    (OfferDecision, OfferDecision.ACCEPTED): lazy_gettext("accepted"),
    (OfferDecision, OfferDecision.DECLINED): lazy_gettext("declined"),
    (PauseReason, PauseReason.ILLNESS): lazy_gettext("illness"),
    (PauseReason, PauseReason.PARENTAL_LEAVE): lazy_gettext("parental leave"),
    (PauseReason, PauseReason.CARING): lazy_gettext("caring"),
    (PauseReason, PauseReason.OTHER): lazy_gettext("other"),
    (ExclusionReason, ExclusionReason.FURTHER_STUDY): lazy_gettext("further study"),
    (ExclusionReason, ExclusionReason.MILITARY_SERVICE): lazy_gettext("military service"),
    (ExclusionReason, ExclusionReason.INCARCERATION): lazy_gettext("incarceration"),
    (ExclusionReason, ExclusionReason.DEATH): lazy_gettext("death"),
    (WorkAuthorisation, WorkAuthorisation.YES): lazy_gettext("yes"),
    (WorkAuthorisation, WorkAuthorisation.NO): lazy_gettext("no"),
    (WorkAuthorisation, WorkAuthorisation.UNKNOWN): lazy_gettext("unknown"),
    (PayerType, PayerType.STUDENT): lazy_gettext("student"),
    (PayerType, PayerType.SPONSOR): lazy_gettext("sponsor"),
    (WeekState, WeekState.MET): lazy_gettext("met"),
    (WeekState, WeekState.BEHIND): lazy_gettext("behind"),
    (WeekState, WeekState.MISSED): lazy_gettext("missed"),
    (WeekState, WeekState.PAUSED): lazy_gettext("paused"),
    (WeekState, WeekState.UPCOMING): lazy_gettext("upcoming"),
    (GuaranteeOutcome, GuaranteeOutcome.PLACED): lazy_gettext("placed"),
    (GuaranteeOutcome, GuaranteeOutcome.SEARCHING): lazy_gettext("searching"),
    (GuaranteeOutcome, GuaranteeOutcome.OWED): lazy_gettext("owed"),
    (GuaranteeOutcome, GuaranteeOutcome.LEFT): lazy_gettext("left guarantee"),
    (ConfirmationAnswer, ConfirmationAnswer.CONFIRMED): lazy_gettext("confirmed"),
    (ConfirmationAnswer, ConfirmationAnswer.DENIED): lazy_gettext("denied"),
    (Role, Role.GRADUATE): lazy_gettext("graduate"),
    (Role, Role.EMPLOYER): lazy_gettext("employer"),
    (Role, Role.FINANCE): lazy_gettext("finance"),
    (Role, Role.REGISTRAR): lazy_gettext("registrar"),
    (Role, Role.ADMIN): lazy_gettext("admin"),
    (LinkPurpose, LinkPurpose.INVITATION): lazy_gettext("invitation"),
    (LinkPurpose, LinkPurpose.PASSWORD_RESET): lazy_gettext("password reset"),
    (LinkPurpose, LinkPurpose.EMAIL_CHANGE): lazy_gettext("email change"),
    (MessageKind, MessageKind.DEADLINE_APPROACHING): lazy_gettext("deadline approaching"),
    (MessageKind, MessageKind.FALLING_BEHIND): lazy_gettext("falling behind"),
    (MessageKind, MessageKind.NEW_CLAIM): lazy_gettext("new claim"),
    (MessageKind, MessageKind.EMPLOYER_REMINDER): lazy_gettext("employer reminder"),
    (MessageKind, MessageKind.CLAIM_OPENED): lazy_gettext("claim opened"),
    (MessageKind, MessageKind.CLAIM_APPROVED): lazy_gettext("claim approved"),
    (MessageKind, MessageKind.CLAIM_REJECTED): lazy_gettext("claim rejected"),
    (MessageKind, MessageKind.CLAIM_REFUNDED): lazy_gettext("claim refunded"),
    (MessageKind, MessageKind.CLAIM_SETTLED_MANUALLY): lazy_gettext("claim settled manually"),
    (MessageKind, MessageKind.APPEAL_RECEIVED): lazy_gettext("appeal received"),
    (MessageKind, MessageKind.APPEAL_DECIDED): lazy_gettext("appeal decided"),
    (MessageState, MessageState.PENDING): lazy_gettext("pending"),
    (MessageState, MessageState.SENT): lazy_gettext("sent"),
    (MessageState, MessageState.FAILED): lazy_pgettext("message", "failed"),
    (DocumentConcerns, DocumentConcerns.JOB_OUTCOME): lazy_gettext("job outcome"),
    (DocumentConcerns, DocumentConcerns.SEARCH_ACTIVITY): lazy_gettext("search activity"),
    (DocumentConcerns, DocumentConcerns.SEARCH_PAUSE): lazy_gettext("search pause"),
    (DocumentConcerns, DocumentConcerns.REFUND_CLAIM): lazy_gettext("refund claim"),
    (DocumentSource, DocumentSource.GRADUATE): lazy_gettext("graduate"),
    (DocumentSource, DocumentSource.EMPLOYER): lazy_gettext("employer"),
    (DocumentSource, DocumentSource.REGISTRAR): lazy_gettext("registrar"),
    (DocumentSource, DocumentSource.FINANCE): lazy_gettext("finance"),
    (EnrollmentStatus, EnrollmentStatus.STUDYING): lazy_gettext("studying"),
    (EnrollmentStatus, EnrollmentStatus.GRADUATED): lazy_gettext("graduated"),
}

#: A bare string (a query's ``state=flagged``) reads as the first coded value it spells.
_BY_CODE: dict[str, object] = {}
for (_kind, _value), _label in LABELS.items():
    _BY_CODE.setdefault(_value.value, _label)


def label(value) -> str:
    """``ClaimState.OWED_REFUND`` -> ``owed refund`` (``remboursement dû`` to a French reader)."""
    if value is None:
        return "—"
    if isinstance(value, Enum):
        found = LABELS.get((type(value), value))
    else:
        found = _BY_CODE.get(str(value))
    if found is not None:
        return str(found)
    text = getattr(value, "value", value)
    return str(text).replace("_", " ")
