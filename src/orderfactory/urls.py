from django.http import HttpResponsePermanentRedirect
from django.urls import include, path, re_path

from orderfactory import api, cors, home, openapi
from orderfactory.auth import tokeninfo
from orderfactory.auth import views as auth_views

# What a browser app calls (the token endpoints, the document and the API) is readable from the origins
# ORDERFACTORY_CORS_ORIGINS allows.
urlpatterns = [
    path("", home.index_view),
    re_path(r"^api/?$", cors.allow(home.api_root_view)),
    path("oauth/token", cors.allow(auth_views.token_view)),
    path("oauth/tokeninfo", cors.allow(tokeninfo.tokeninfo_view)),
    path(".well-known/jwks.json", auth_views.jwks_view),
    path("openapi.json", cors.allow(openapi.openapi_view)),
    re_path(r"^api/?(?P<rest>.*)$", cors.allow(api.api_view)),
    path("console", lambda request: HttpResponsePermanentRedirect("/console/")),
    path("console/", include("orderfactory.console.urls")),
]

handler400 = "orderfactory.handlers.bad_request"
handler404 = "orderfactory.handlers.not_found"
handler500 = "orderfactory.handlers.server_error"
