"""The auth endpoints alone, at the paths the lead wires in orderfactory.urls, so these tests need no other app."""

from django.urls import path

from orderfactory.auth import views

urlpatterns = [
    path("oauth/token", views.token_view),
    path(".well-known/jwks.json", views.jwks_view),
]
