"""Pauses of the job search: a graduate giving notice (illness, parental leave), or a registrar
recording one after the fact; the window extends by the paused days, up to the policy's limit.

A graduate pauses their own window only, from today on; a registrar may also record a pause
that has begun or ended already (documented illness). Pauses never overlap, start inside the
window as it stands, and are recorded in full even beyond the policy's limit: the guarantee
counts only up to the limit (``app.guarantee.rules.paused_days``), and the pages say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.access import Permission, Principal
from app.guarantee.rules import claim_deadline, guarantee_deadline, paused_days, window_start
from app.guarantee.terms import PauseReason
from app.i18n import said_day
from app.models import Graduation, SearchPause
from app.models.base import utc_now
from app.services.errors import Conflict, Invalid, NotFound
from app.services.graduates import own_graduation
from app.services.guarantee import evaluate_guarantee
from app.services.records import MAX_ID, get_or_404

#: The longest single pause accepted: no policy counts more paused days (the policy API's bound).
MAX_PAUSE_LENGTH_DAYS = 1100
#: The longest note accepted.
MAX_NOTE_LENGTH = 2000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RecordedPause:
    """A pause just recorded, and how it moved the window's deadline."""

    pause: SearchPause
    #: The deadline before this pause, and with it.
    deadline_before: date
    deadline_after: date
    #: Paused days that count now, and the policy's limit on them.
    paused_days_counted: int
    max_pause_days: int


def record_pause(
    session: Session,
    principal: Principal,
    graduation_id: int,
    starts_on: date,
    ends_on: date,
    reason: PauseReason,
    note: str | None = None,
    *,
    today: date | None = None,
) -> RecordedPause:
    """Record a pause of graduation ``graduation_id``'s search, both days included.

    Graduates pause their own window, giving notice (from ``today`` on); registrars may record
    any pause, past ones included. Refused (``Invalid``, nothing written): a pause that ends
    before it starts or lasts too long, that overlaps another, that starts before the window
    opens or after it closes, a policy that allows no pauses, a graduate not covered or
    excluded. ``Conflict`` once a refund claim exists: the window has been judged closed.
    """
    today = today or utc_now().date()
    graduation = _graduation_for(session, principal, graduation_id)
    view = evaluate_guarantee(session, graduation.id, today)
    terms = graduation.enrollment.policy.terms()
    note = (note or "").strip() or None
    errors: dict[str, list[str]] = {}

    def refuse(field: str, why: str) -> None:
        errors.setdefault(field, []).append(why)

    if not graduation.enrollment.guarantee_opt_in:
        refuse("graduation_id", _("this graduate did not opt in to the job guarantee"))
    elif view.exclusion is not None:
        refuse("graduation_id", _("this graduate is out of the guarantee (an excluded outcome)"))
    elif terms.max_pause_days == 0:
        refuse(
            "graduation_id",
            _(
                "the guarantee policy (version %(version)s) allows no pauses",
                version=graduation.enrollment.policy.version,
            ),
        )
    if ends_on < starts_on:
        refuse("ends_on", _("a pause cannot end before it starts"))
    elif (ends_on - starts_on).days + 1 > MAX_PAUSE_LENGTH_DAYS:
        refuse("ends_on", _("a pause lasts at most %(most)s days", most=MAX_PAUSE_LENGTH_DAYS))
    if not principal.can(Permission.WRITE_RECORDS) and starts_on < today:
        refuse(
            "starts_on",
            _(
                "a pause starts today or later (you give notice); the school records a pause"
                " that has already begun"
            ),
        )
    opens = window_start(graduation.qualified_on, terms.window_starts)
    if starts_on < opens:
        refuse(
            "starts_on",
            _(
                "the window opens on %(day)s: a pause starts then or later",
                day=said_day(opens),
            ),
        )
    elif starts_on > view.status.deadline:
        refuse(
            "starts_on",
            _(
                "the window closes on %(day)s: a pause starts by then",
                day=said_day(view.status.deadline),
            ),
        )
    for other in view.pauses:
        if other.starts_on <= ends_on and starts_on <= other.ends_on:
            refuse(
                "starts_on",
                _(
                    "it overlaps the pause from %(first)s to %(last)s",
                    first=said_day(other.starts_on),
                    last=said_day(other.ends_on),
                ),
            )
    if note is not None and len(note) > MAX_NOTE_LENGTH:
        refuse("note", _("at most %(most)s characters", most=MAX_NOTE_LENGTH))
    elif note is not None and _CONTROL.search(note):
        refuse("note", _("remove the control characters"))
    if errors:
        raise Invalid(errors)
    if view.claim is not None:
        raise Conflict(
            _("a refund claim was opened for this window already; the school reviews it instead"),
            "graduation_id",
        )

    spans = [(p.starts_on, p.ends_on) for p in view.pauses] + [(starts_on, ends_on)]
    counted = paused_days(spans, terms.max_pause_days)
    try:
        deadline_after = guarantee_deadline(
            graduation.qualified_on, terms.window_months, terms.window_starts, counted
        )
        claim_deadline(deadline_after, terms.claim_deadline_days)
    except OverflowError as error:
        raise Invalid.field(
            "ends_on", _("this pause takes the window past the year 9999")
        ) from error

    pause = SearchPause(
        graduation_id=graduation.id,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        note=note,
        recorded_by=principal.actor,
    )
    session.add(pause)
    session.flush()
    record(
        session,
        principal.actor,
        "pause.recorded",
        f"graduation:{graduation.id}",
        f"pause:{pause.id} {starts_on.isoformat()} to {ends_on.isoformat()} ({reason.value});"
        f" deadline {view.status.deadline.isoformat()} -> {deadline_after.isoformat()}",
    )
    return RecordedPause(
        pause=pause,
        deadline_before=view.status.deadline,
        deadline_after=deadline_after,
        paused_days_counted=counted,
        max_pause_days=terms.max_pause_days,
    )


def cancel_pause(
    session: Session, principal: Principal, pause_id: int, *, today: date | None = None
) -> SearchPause:
    """Call off a pause that has not started yet: by its own graduate, or by a registrar.

    A pause that has begun is part of the record and stays.
    """
    today = today or utc_now().date()
    pause = session.get(SearchPause, pause_id) if 0 < pause_id <= MAX_ID else None
    if principal.can(Permission.WRITE_RECORDS):
        if pause is None:
            raise NotFound("SearchPause", pause_id)
    else:
        # Refused alike whether the pause is someone else's or does not exist.
        own_graduation(session, principal, pause.graduation_id if pause else 0)
    if pause.starts_on <= today:
        raise Conflict(_("this pause has begun already; only a future pause can be called off"))
    session.delete(pause)
    session.flush()
    record(
        session,
        principal.actor,
        "pause.canceled",
        f"graduation:{pause.graduation_id}",
        f"pause:{pause.id} {pause.starts_on.isoformat()} to {pause.ends_on.isoformat()}",
    )
    return pause


def _graduation_for(session: Session, principal: Principal, graduation_id: int) -> Graduation:
    """The graduation, locked: a registrar's any, a graduate's own only (others refused)."""
    if principal.can(Permission.WRITE_RECORDS):
        graduation = get_or_404(session, Graduation, graduation_id)
    else:
        graduation = own_graduation(session, principal, graduation_id)
    # One pause at a time per graduation: the overlap check must see the one written before.
    session.scalar(select(Graduation.id).where(Graduation.id == graduation.id).with_for_update())
    return graduation
