"""The server-rendered pages: one blueprint per kind of user, sharing one look.

Pages work without JavaScript, label every control, and fit a phone. Each view parses the form,
calls a service and renders; what a person may see or change is checked in the services.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext

from app.pages import formatting

#: Each role's menu: (label, endpoint); entries whose page does not exist are left out.
NAV = {
    "graduate": [
        (lazy_gettext("My guarantee"), "graduate.home"),
        (lazy_gettext("Your account"), "account.settings"),
    ],
    "employer": [
        (lazy_gettext("Confirmations"), "employer.home"),
        (lazy_gettext("Your account"), "account.settings"),
    ],
    "finance": [
        (lazy_gettext("Claims"), "finance.queue"),
        (lazy_gettext("Forecast"), "finance.forecast"),
        (lazy_gettext("Expected liability"), "liability.expected"),
        (lazy_gettext("Outcomes"), "reports.outcomes"),
        (lazy_gettext("API tokens"), "account.tokens"),
        (lazy_gettext("Your account"), "account.settings"),
    ],
    "registrar": [
        (lazy_gettext("Overview"), "registrar.home"),
        (lazy_gettext("Programmes"), "registrar.programmes"),
        (lazy_gettext("Enrollments"), "registrar.enrollments"),
        (lazy_gettext("Graduations"), "registrar.graduations"),
        (lazy_gettext("Import"), "registrar.import_csv"),
        (lazy_gettext("Outcomes"), "reports.outcomes"),
        (lazy_gettext("API tokens"), "account.tokens"),
        (lazy_gettext("Your account"), "account.settings"),
    ],
    "admin": [
        (lazy_gettext("Accounts"), "admin.accounts"),
        (lazy_gettext("API tokens"), "admin.tokens"),
        (lazy_gettext("Audit log"), "admin.audit"),
        (lazy_gettext("Personal data"), "admin.personal_data"),
        (lazy_gettext("Outcomes"), "reports.outcomes"),
        (lazy_gettext("Your account"), "account.settings"),
    ],
}


def init_app(app: Flask) -> None:
    from app.auth import current_principal
    from app.pages import (
        account,
        admin,
        auth,
        documents,
        employer,
        errors,
        finance,
        graduate,
        liability,
        pauses,
        preferences,
        public,
        registrar,
        reports,
        search,
        tables,
        unsaved,
    )

    def nav_links(principal):
        links = NAV.get(principal.role.value, []) if principal.role else []
        return [(label, endpoint) for label, endpoint in links if endpoint in app.view_functions]

    app.jinja_env.globals.update(current_principal=current_principal, nav_links=nav_links)
    formatting.init_app(app)
    app.register_blueprint(auth.blueprint)
    for module in (graduate, search, pauses, employer, finance, registrar, admin, account, reports):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(liability.blueprint)
    app.register_blueprint(public.blueprint)
    app.register_blueprint(preferences.blueprint)
    errors.init_app(app)
    with app.hooks_not_for_api_reads():  # a page's own hooks
        unsaved.init_app(app)
        tables.init_app(app)
    app.register_blueprint(documents.blueprint)
    documents.init_app(app)
