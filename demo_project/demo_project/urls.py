"""The demo's pages: the documented "Catching model events!" page, the change tracker and the admin."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import ListView, TemplateView
from telegraphy.contrib.django_telegraphy import events
from telegraphy_demo.models import MyModel

events.autodiscover()  # as the 2013 docs show; the app's ready() has already done it, so this is a no-op

urlpatterns = [
    path("", TemplateView.as_view(template_name="telegraphy_demo/index.html"), name="index"),
    path("tracker/", ListView.as_view(model=MyModel, template_name="telegraphy_demo/tracker.html"), name="tracker"),
    path("telegraphy/", include("telegraphy.contrib.django_telegraphy.urls")),
    path("admin/", admin.site.urls),
]
