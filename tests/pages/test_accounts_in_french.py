"""The sign-in, account, admin, error and public outcomes pages read in French for a French
reader: their key sentences translated, none of their English left, form errors included."""

from __future__ import annotations

import pytest

from app.models import Role
from tests.factories import TEST_PASSWORD, UserFactory
from tests.pages.conftest import csrf_token, post_form
from tests.signing_in import sign_in_client

FRENCH = "fr-FR,fr;q=0.9"


@pytest.fixture
def french(client):
    """The test client, its browser asking for French on every request."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = FRENCH
    return client


def text_of(response) -> str:
    return response.get_data(as_text=True)


def assert_french(page: str, french: list[str], english: list[str]) -> None:
    """``page`` holds each of the ``french`` sentences and none of the ``english`` ones."""
    assert '<html lang="fr">' in page
    for sentence in french:
        assert sentence in page, sentence
    for sentence in english:
        assert sentence not in page, sentence


def test_the_sign_in_page_is_french_and_so_is_an_empty_field_error(french):
    page = text_of(french.get("/sign-in"))
    assert_french(
        page,
        ["Se connecter", "Mot de passe oublié\xa0?", "Garantie emploi", "Aller au contenu"],
        ["Sign in", "Forgot your password?", "Password", "Skip to content", "Employers"],
    )

    refused = post_form(french, "/sign-in", {"email": "someone@school.example", "password": ""})

    assert refused.status_code == 400
    assert_french(text_of(refused), ["Ce champ est requis."], ["This field is required."])


def test_a_wrong_password_is_refused_in_french(french):
    user = UserFactory(role=Role.REGISTRAR)

    refused = post_form(french, "/sign-in", {"email": user.email, "password": "not it at all"})

    assert refused.status_code == 401
    assert_french(
        text_of(refused),
        ["Cette adresse e-mail et ce mot de passe ne correspondent à aucun compte actif."],
        ["don't match an active account"],
    )


def test_the_second_step_asks_for_the_code_in_french(french):
    user = UserFactory(role=Role.FINANCE)
    french.post(
        "/sign-in",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(french)},
    )

    page = text_of(french.get("/sign-in/code"))

    assert_french(
        page,
        ["Votre code", "Code de votre application, ou code de secours", "Recommencer"],
        ["Your code", "Open your authenticator app", "Start again"],
    )


def test_enrolling_a_second_factor_is_explained_in_french(french):
    user = UserFactory(role=Role.ADMIN, totp_secret=None, totp_enabled_at=None)
    french.post(
        "/sign-in",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(french)},
    )

    page = text_of(french.get("/sign-in/enrol"))

    assert_french(
        page,
        ["Configurez votre second facteur", "Scannez ce QR code", "L’activer"],
        ["Set up your second factor", "Scan this QR code", "Turn it on"],
    )


def test_the_account_settings_are_french_with_the_role_and_recovery_codes_counted(french):
    user = UserFactory(role=Role.FINANCE)
    sign_in_client(french, user)
    made = post_form(
        french,
        "/account/recovery-codes",
        {"factor-current_password": TEST_PASSWORD},
        token_from="/account",
    )
    assert made.status_code == 200

    page = text_of(french.get("/account"))

    assert_french(
        page,
        [
            "Votre compte",
            "(service financier)",
            "Changer votre mot de passe",
            "codes de secours inutilisés.",
            "Se déconnecter",
        ],
        ["Your account", "Change your password", "unused recovery code", "Sign out"],
    )


def test_a_mismatched_new_password_is_refused_in_french(french):
    user = UserFactory(role=Role.REGISTRAR)
    sign_in_client(french, user)

    refused = post_form(
        french,
        "/account/password",
        {
            "password-current_password": TEST_PASSWORD,
            "password-new_password": "correct horse battery staple",
            "password-new_password_again": "something else entirely",
        },
        token_from="/account",
    )

    assert refused.status_code == 400
    assert_french(
        text_of(refused), ["Les deux mots de passe diffèrent."], ["The two passwords differ."]
    )


def test_the_api_tokens_page_is_french(french):
    user = UserFactory(role=Role.REGISTRAR)
    sign_in_client(french, user)

    page = text_of(french.get("/account/tokens"))

    assert_french(
        page,
        [
            "Vos jetons d’API",
            "Créer le jeton",
            "Aucun jeton pour l’instant.",
            "À quoi sert le jeton",
        ],
        ["Your API tokens", "Create the token", "No token yet.", "What the token is for"],
    )


def test_the_admin_accounts_list_and_audit_log_are_french(french):
    admin = UserFactory(role=Role.ADMIN)
    sign_in_client(french, admin)

    accounts = text_of(french.get("/admin/accounts"))
    audit = text_of(french.get("/admin/audit"))

    assert_french(
        accounts,
        [
            "Comptes",
            "Ouvrir le compte et inviter",
            "Scolarité (dossiers et imports)",
            "Journal d’audit",
            "Dernière connexion",
        ],
        ["Open the account and invite", "Registrar (records and imports)", "Last sign-in"],
    )
    assert_french(
        audit,
        ["Journal d’audit", "L’action commence par", "Filtrer"],
        ["Action starts with", "Actor contains", "Audit events"],
    )


def test_an_unknown_list_value_is_ignored_in_french(french):
    admin = UserFactory(role=Role.ADMIN)
    sign_in_client(french, admin)

    response = french.get("/admin/accounts?role=wizard")

    assert response.status_code == 400
    assert_french(
        text_of(response),
        ["La valeur «\xa0wizard\xa0» n’existe pas pour le champ rôle\xa0: elle a été ignorée."],
        ["it was ignored"],
    )


def test_the_error_pages_are_french(french):
    graduate = UserFactory(role=Role.REGISTRAR)
    sign_in_client(french, graduate)

    not_found = french.get("/no-such-page")
    forbidden = french.get("/admin/accounts")
    not_a_page = french.get("/sign-out")

    assert not_found.status_code == 404
    assert_french(
        text_of(not_found),
        ["Page introuvable", "Il n’y a rien à cette adresse.", "Retour à votre page"],
        ["Not found", "There is nothing at this address.", "Back to your page"],
    )
    assert forbidden.status_code == 403
    assert_french(
        text_of(forbidden),
        ["Vous ne pouvez pas voir cette page"],
        ["You can't see this page", "It belongs to someone else"],
    )
    assert not_a_page.status_code == 405
    assert_french(
        text_of(not_a_page),
        ["Cette adresse n’est pas une page", "Erreur 405"],
        ["This address is not a page", "Error 405"],
    )


def test_the_public_outcomes_page_is_french(french):
    page = text_of(french.get("/outcomes?period=2026-H1"))

    assert_french(
        page,
        ["Résultats d’insertion, 2026-H1", "Comment ces chiffres sont comptés", "Semestre"],
        ["Graduate outcomes", "How these figures are counted", "Half-year"],
    )


def test_the_pages_stay_english_for_a_browser_asking_for_nothing(client):
    page = text_of(client.get("/sign-in"))

    assert '<html lang="en">' in page and "Forgot your password?" in page
    assert "Job Guarantee" in page and "Mot de passe" not in page


def test_a_staff_form_refuses_an_empty_field_in_french(french):
    """WTForms' own messages follow the reader too, in every form of the pages."""
    user = UserFactory(role=Role.REGISTRAR)
    sign_in_client(french, user)

    refused = post_form(
        french, "/account/tokens", {"name": "", "lifetime_days": "90"}, token_from="/account/tokens"
    )

    assert refused.status_code == 400
    assert_french(
        text_of(refused),
        ["Ce champ est requis."],
        ["This field is required."],
    )
