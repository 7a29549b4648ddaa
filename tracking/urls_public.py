"""The public host's tracking paths: the collect endpoint and the versioned snippet."""

from django.urls import re_path

from tracking import views_public

urlpatterns = [
    re_path(r"^collect/v1/(?P<public_key>pk_[A-Za-z0-9_-]{8,40})$", views_public.collect, name="tracking_collect"),
    re_path(r"^t/v(?P<version>[0-9]{1,3})/bosco\.js$", views_public.snippet_file, name="tracking_snippet"),
]
