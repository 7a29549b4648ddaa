from django.urls import path

from billing import views

urlpatterns = [
    path("checkout/", views.checkout, name="billing_checkout"),
    path("portal/", views.portal, name="billing_portal"),
]
