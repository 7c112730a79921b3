"""The 2013 documentation's snippets (sections 3.1.2, 3.4.2 and 3.6.1), pasted into a project fresh from
``django-admin startproject`` on today's Django, work unchanged.

Three adaptations, each forced by Python or Django rather than by Telegraphy: ``from models import`` is
``from .models import`` (Python 3 has no implicit relative imports); urls.py keeps Django's own
generated imports instead of ``from django.conf.urls import patterns`` (removed in Django 1.10); and the
``TEMPLATE_CONTEXT_PROCESSORS`` step is already done, since startproject's TEMPLATES include the request.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django_projects import RunTelegraph, manage, project_env
from support import ROOT, run_python, write_config

pytestmark = pytest.mark.integration

# Section 3.4.2 / 3.6.1, steps 3 and 4 (the only change: ".models").
EVENTS_PY = """\
from .models import MyModel
from telegraphy.contrib.django_telegraphy.events import BaseEventModel

class MyEventsModel(BaseEventModel):
    model = MyModel

event = MyEventsModel()
event.register()
"""

# "This method is typically called in the project's urls.py file"
URLS_SNIPPET = """\
from telegraphy.contrib.django_telegraphy import events
events.autodiscover()
"""

# Section 3.6.1, step 5, as printed (its script lost characters in the PDF: `new line`, `$('')`).
TEMPLATE = """\
{% load telegraphy_tags %}
{% load static %}
<html>
   <head>
       <title>Simple Telegraphy API Example</title>
       <script src=' {% static "telegraphy_demo/js/jquery-1.10.2.js" %}'></script>
       {% telegraphy_scripts %}
   </head>
   <body>
       <h1>Catching model events!</h1>

       <script>
           (function () {
               var $event_catcher = $('#event_catcher');
               Telegraphy.register('telegraphy_demo.MyModel',
                   function (tEvent) {
                       console.log("Event", tEvent);
                       var new line = $('').text("New instance");
                       $event_catcher.append(new_line);
                   });
           }) ();
       </script>
   </body>
</html>
"""

MODELS_PY = """\
from django.db import models


class MyModel(models.Model):
    name = models.CharField(max_length=100)
"""

# Run in `manage.py shell`: render the page through the project's URLconf (which runs the urls.py
# snippet), find the client script, then create, update and delete a MyModel.
SHELL = """\
import json
from django.contrib.staticfiles import finders
from django.test import Client
from telegraphy.contrib.django_telegraphy import events
from telegraphy_demo.models import MyModel
response = Client(HTTP_HOST="localhost").get("/")
script = finders.find("telegraphy/telegraphy.js")
obj = MyModel.objects.create(name="one")
obj.name = "two"
obj.save()
obj.delete()
print(json.dumps({"status": response.status_code, "page": response.content.decode(), "script": script,
                  "registered": [type(e).__name__ for e in events.registered()]}))
"""


def test_the_documented_snippets_work_unchanged_in_a_fresh_project(tmp_path, wamp):
    project = tmp_path / "mysite"
    project.mkdir()
    env = project_env()
    made = subprocess.run([sys.executable, "-m", "django", "startproject", "mysite", str(project)],
                          capture_output=True, text=True, env=env)
    assert made.returncode == 0, made.stderr
    assert manage(project, "startapp", "telegraphy_demo", env=env).returncode == 0

    # 3.1.2: add the app to INSTALLED_APPS; the request context processor is there already.
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    assert "'django.template.context_processors.request'" in text
    config = write_config(tmp_path)
    text = text.replace("INSTALLED_APPS = [\n", "INSTALLED_APPS = [\n    'telegraphy.contrib.django_telegraphy',\n"
                                                "    'telegraphy_demo',\n", 1)
    settings.write_text(text + f"\nTELEGRAPHY_CONFIG = {str(config)!r}\n")

    app = project / "telegraphy_demo"
    (app / "models.py").write_text(MODELS_PY)
    (app / "events.py").write_text(EVENTS_PY)
    (app / "templates").mkdir()
    (app / "templates" / "index.html").write_text(TEMPLATE)
    urls = project / "mysite" / "urls.py"
    text = urls.read_text().replace("\nurlpatterns = [", "\n" + URLS_SNIPPET + "\nurlpatterns = [", 1)
    urls.write_text(text + "\nfrom django.views.generic import TemplateView\n"
                           "urlpatterns += [path('', TemplateView.as_view(template_name='index.html'))]\n")

    for args in (["makemigrations", "telegraphy_demo"], ["migrate", "--noinput"], ["check"]):
        result = manage(project, *args, env=env)
        assert result.returncode == 0, (args, result.stdout, result.stderr)

    # 3.6.1, step 1: run the gateway with manage.py run_telegraph.
    gateway = RunTelegraph(project, config, env).start()
    try:
        client = wamp(gateway.url)
        client.subscribe("telegraphy_demo.", match="prefix")
        shell = manage(project, "shell", "-c", SHELL, env=env)
        assert shell.returncode == 0, shell.stderr
        out = json.loads(shell.stdout.strip().splitlines()[-1])
        sentinel = run_python("import telegraphy; telegraphy.publish('telegraphy_demo.Sentinel')",
                              env={**env, "TELEGRAPHY_CONFIG": str(config)})
        assert sentinel.returncode == 0, sentinel.stderr
        events = [e["envelope"] for e in client.wait_events(4)]
    finally:
        gateway.stop()

    # Every create, update and delete sent one event, though the class was registered by events.py,
    # by the app's ready() and by the urls.py snippet.
    assert out["registered"] == ["MyEventsModel"]
    assert [(e["name"], e["meta"]["event_type"], e["data"]) for e in events] == [
        ("telegraphy_demo.MyModel", "create", {"id": 1, "name": "one"}),
        ("telegraphy_demo.MyModel", "update", {"id": 1, "name": "two"}),
        ("telegraphy_demo.MyModel", "delete", {"id": 1, "name": "two"}),
        ("telegraphy_demo.Sentinel", None, None)]

    # The template renders: the client script from the app's static files, configured for the gateway.
    assert out["status"] == 200
    page = out["page"]
    assert '<script src="/static/telegraphy/telegraphy.js"></script>' in page
    assert f'Telegraphy.configure({{"url": "{gateway.url}", "realm": "telegraphy"' in page
    assert "Telegraphy.register('telegraphy_demo.MyModel'," in page
    assert open(out["script"], "rb").read() == (ROOT / "telegraphy/static/telegraphy/telegraphy.js").read_bytes()
