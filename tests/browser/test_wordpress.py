"""A real WordPress with the Markezy plugin: the admin sets the key through
the settings page, and a lead chats through the widget on a WordPress page."""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings
from django_scopes import scopes_disabled

from tests.browser.wordpress import ADMIN_PASSWORD, ADMIN_USER, WordPress

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def wordpress(tmp_path):
    if shutil.which("php") is None:
        pytest.fail("php-cli is required (scripts/bootstrap.sh --test installs it)")
    wp = WordPress(tmp_path, settings.DATABASES["default"]).install().serve()
    yield wp
    wp.stop()


def test_plugin_configured_in_wordpress_admin_and_lead_chats(web_pool, transactional_db, make_agency, wordpress,
                                                            in_browser, screenshots):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="60", CHAT_RATE_BURST="100")
    a = make_agency(origins=(wordpress.url,))

    def scenario(browser):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(wordpress.url + "/wp-login.php")
        page.fill("#user_login", ADMIN_USER)
        page.fill("#user_pass", ADMIN_PASSWORD)
        page.click("#wp-submit")
        page.wait_for_url("**/wp-admin/**")
        page.goto(wordpress.url + "/wp-admin/options-general.php?page=markezy")
        page.fill("#markezy_key", a.key.key)
        page.fill("#markezy_server", server.base_url)
        page.click("#submit")
        page.wait_for_selector("#setting-error-settings_updated, .notice-success, .updated")
        page.screenshot(path=screenshots / "wordpress-settings.png")
        saved = page.input_value("#markezy_key")
        visitor = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        visitor.on("pageerror", lambda e: errors.append(str(e)))
        visitor.goto(wordpress.url + "/?pagename=contacto")
        tag = visitor.locator("script[data-key]").first
        attributes = {"src": tag.get_attribute("src"), "key": tag.get_attribute("data-key"),
                      "defer": tag.get_attribute("defer")}
        # WordPress's default site language is en-US: the widget follows the page's language.
        visitor.get_by_role("button", name="Open chat").click()
        visitor.locator(".chips button", has_text="I agree").click()
        visitor.locator(".msg.assistant", has_text="name").wait_for()
        visitor.get_by_role("textbox").fill("I'm Lucía Martín")
        visitor.get_by_role("textbox").press("Enter")
        visitor.locator(".msg.assistant", has_text="company").wait_for()
        visitor.screenshot(path=screenshots / "wordpress-widget.png")
        return saved, attributes, errors

    saved, attributes, errors = in_browser(scenario)
    assert not errors
    assert saved == a.key.key
    assert attributes["key"] == a.key.key and attributes["src"].startswith(server.base_url + "/widget/v1/markezy.js")
    assert attributes["defer"] is not None
    with scopes_disabled():
        from qualification.models import Lead

        assert Lead.objects.filter(agency=a.agency).first().name == "Lucía Martín"
