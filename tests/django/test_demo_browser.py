"""End to end in headless Chromium: demo_project's pages open, a MyModel saved by another process (a
management command, the admin in another tab), and the page shows it."""

from __future__ import annotations

import pytest
from django_projects import subscriptions
from support import wait_for

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


def watch(page, console: list) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))


def test_the_catching_model_events_page_shows_a_model_saved_by_another_process(demo_site, chromium, artifacts):
    def steps(browser):
        console: list[str] = []
        page = browser.new_page()
        watch(page, console)
        page.goto(demo_site.web.url + "/")
        assert page.locator("h1").inner_text() == "Catching model events!"
        wait_for(lambda: subscriptions(demo_site.gateway) >= 1, timeout=30,
                 message=f"the page to subscribe (console: {console})")
        saved = demo_site.manage("mymodel", "create", "Saved by another process")
        assert saved.returncode == 0, saved.stderr
        line = page.locator("#event_catcher li").first
        line.wait_for()
        assert line.inner_text() == "New instance: create #1 Saved by another process", console
        page.screenshot(path=str(artifacts / "django_demo_catching_model_events.png"), full_page=True)
    chromium(steps)


def test_the_change_tracker_follows_admin_edits_made_in_another_tab(demo_site, chromium, artifacts):
    made = demo_site.manage("mymodel", "create", "Before the page opened", "--value", "1.25")
    assert made.returncode == 0, made.stderr
    superuser = demo_site.manage("shell", "-c", "from django.contrib.auth.models import User; "
                                 "User.objects.create_superuser('admin', 'admin@example.com', 'demo-password')")
    assert superuser.returncode == 0, superuser.stderr

    def steps(browser):
        console: list[str] = []
        context = browser.new_context()
        tracker = context.new_page()
        watch(tracker, console)
        tracker.goto(demo_site.web.url + "/tracker/")
        assert tracker.locator("#row-1").inner_text().split("\t")[:3] == ["1", "Before the page opened", "1.25"]
        tracker.locator("#status", has_text="connected").wait_for()
        wait_for(lambda: subscriptions(demo_site.gateway) >= 1, timeout=30, message="the tracker to subscribe")

        admin = context.new_page()
        admin.set_default_timeout(TIMEOUT_MS)
        admin.goto(demo_site.web.url + "/admin/login/?next=/admin/telegraphy_demo/mymodel/add/")
        admin.fill("#id_username", "admin")
        admin.fill("#id_password", "demo-password")
        admin.click("input[type=submit]")
        admin.fill("#id_name", "Added in the admin")
        admin.fill("#id_value", "2.50")
        admin.click("input[name=_continue]")  # "Save and continue editing"
        row = tracker.locator("#row-2")
        row.wait_for()
        assert row.get_attribute("class") == "create"
        assert row.inner_text().split("\t")[:3] == ["2", "Added in the admin", "2.50"]

        admin.fill("#id_name", "Renamed in the admin")
        admin.click("input[name=_continue]")
        tracker.locator("#row-2.update", has_text="Renamed in the admin").wait_for()

        admin.goto(demo_site.web.url + "/admin/telegraphy_demo/mymodel/1/delete/")
        admin.click("input[type=submit]")
        tracker.locator("#row-1.delete").wait_for()
        log = tracker.locator("#log li").all_inner_texts()
        assert [entry.split(" ", 1)[1] for entry in log] == [
            "create #2 Added in the admin", "update #2 Renamed in the admin",
            "delete #1 Before the page opened"], console
        tracker.screenshot(path=str(artifacts / "django_demo_change_tracker.png"), full_page=True)
        context.close()
    chromium(steps)
