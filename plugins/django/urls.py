"""``path("telegraphy/", include("telegraphy.contrib.django_telegraphy.urls"))`` adds the token URL."""

from django.urls import path

from . import views

app_name = "telegraphy"
urlpatterns = [path("token/", views.token, name="token")]
