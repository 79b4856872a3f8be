"""The server-rendered pages: one blueprint per kind of user, sharing one look.

Pages work without JavaScript, label every control, and fit a phone. Each view parses the form,
calls a service and renders; what a person may see or change is checked in the services.
"""

from __future__ import annotations

from flask import Flask

from app.pages import formatting

#: Each role's menu: (label, endpoint); entries whose page does not exist are left out.
NAV = {
    "graduate": [("My guarantee", "graduate.home"), ("Your account", "account.settings")],
    "employer": [("Confirmations", "employer.home"), ("Your account", "account.settings")],
    "finance": [
        ("Claims", "finance.queue"),
        ("Forecast", "finance.forecast"),
        ("Expected liability", "liability.expected"),
        ("Outcomes", "reports.outcomes"),
        ("API tokens", "account.tokens"),
        ("Your account", "account.settings"),
    ],
    "registrar": [
        ("Overview", "registrar.home"),
        ("Programmes", "registrar.programmes"),
        ("Enrollments", "registrar.enrollments"),
        ("Graduations", "registrar.graduations"),
        ("Import", "registrar.import_csv"),
        ("Outcomes", "reports.outcomes"),
        ("API tokens", "account.tokens"),
        ("Your account", "account.settings"),
    ],
    "admin": [
        ("Accounts", "admin.accounts"),
        ("API tokens", "admin.tokens"),
        ("Audit log", "admin.audit"),
        ("Personal data", "admin.personal_data"),
        ("Outcomes", "reports.outcomes"),
        ("Your account", "account.settings"),
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
    unsaved.init_app(app)
    tables.init_app(app)
    app.register_blueprint(documents.blueprint)
    documents.init_app(app)
