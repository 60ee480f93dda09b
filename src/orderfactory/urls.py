from django.urls import path, re_path

from orderfactory import api, config, openapi
from orderfactory.auth import views as auth_views

urlpatterns = [
    path("oauth/token", auth_views.token_view),
    path(".well-known/jwks.json", auth_views.jwks_view),
    path("openapi.json", openapi.openapi_view),
    re_path(r"^api/?(?P<rest>.*)$", api.api_view),
]

if config.flag("ORDERFACTORY_BENCH", False):
    from orderfactory import bench_views

    urlpatterns.append(path("_bench/ceiling", bench_views.ceiling_view))

handler400 = "orderfactory.handlers.bad_request"
handler404 = "orderfactory.handlers.not_found"
handler500 = "orderfactory.handlers.server_error"
