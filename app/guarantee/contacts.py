"""Whose word an employer contact a graduate typed can be: the trust rule for evidence.

A graduate reporting a job at a company the school does not know types the employer's name and
a hiring contact's address, and the confirmation link goes there. An address the graduate can
read would let them confirm their own job, or deny one the school recorded. So:

- the contact may not be the graduate's own address (``+tags`` and, at Gmail, dots ignored);
- nor any address at the graduate's own mail domain (or a subdomain of it, or one it is a
  subdomain of), since whoever owns a domain can make any address there, unless that domain is
  a public mail provider, where anyone can make an address anyway and a shared domain says
  nothing about who reads it;
- every contact a graduate types stays unverified until a registrar verifies it, and an
  unverified contact's answer is recorded and shown but changes nothing
  (``app.services.confirmations``).
"""

from __future__ import annotations

from collections.abc import Iterable

#: Mail providers where anyone can open an address: sharing one with a graduate proves nothing.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "btinternet.com",
        "free.fr",
        "gmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hotmail.co.uk",
        "hotmail.com",
        "hotmail.fr",
        "icloud.com",
        "laposte.net",
        "live.com",
        "mail.com",
        "me.com",
        "orange.fr",
        "outlook.com",
        "outlook.fr",
        "proton.me",
        "protonmail.com",
        "sfr.fr",
        "web.de",
        "yahoo.ca",
        "yahoo.co.uk",
        "yahoo.com",
        "yahoo.fr",
        "yandex.com",
        "zoho.com",
    }
)

#: Providers that ignore dots in the mailbox name.
_DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def _split(email: str) -> tuple[str, str]:
    mailbox, _, domain = email.strip().lower().rpartition("@")
    return mailbox, domain.rstrip(".")


def mailbox_of(email: str) -> str:
    """The mailbox an address delivers to: ``+tags`` dropped, dots dropped where ignored."""
    mailbox, domain = _split(email)
    mailbox = mailbox.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        mailbox, domain = mailbox.replace(".", ""), "gmail.com"
    return f"{mailbox}@{domain}"


def _related(domain: str, other: str) -> bool:
    return domain == other or domain.endswith("." + other) or other.endswith("." + domain)


def contact_problem(contact_email: str, graduate_emails: Iterable[str]) -> str | None:
    """Why a graduate may not give ``contact_email`` as an employer's contact, or ``None``."""
    _, contact_domain = _split(contact_email)
    for own in filter(None, graduate_emails):
        if mailbox_of(contact_email) == mailbox_of(own):
            return "this is your own address: give the employer's hiring contact"
        _, own_domain = _split(own)
        if own_domain not in PUBLIC_MAIL_DOMAINS and _related(contact_domain, own_domain):
            return (
                f"this address is at {own_domain}, your own mail domain: give a contact at the"
                " employer, or ask the school to record the employer"
            )
    return None
