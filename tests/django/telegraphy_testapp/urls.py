from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("telegraphy/", include("telegraphy.contrib.django_telegraphy.urls")),
    path("page/", TemplateView.as_view(template_name="telegraphy_testapp/page.html")),
]
