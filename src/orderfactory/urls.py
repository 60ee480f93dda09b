from django.urls import path, re_path

from orderfactory import api, config, home
from orderfactory.auth import views as auth_views

handler500 = "orderfactory.api.server_error"

urlpatterns = [
    path("", home.index_view),
    re_path(r"^api/?$", home.api_root_view),
    path("oauth/token", auth_views.token_view),
    path(".well-known/jwks.json", auth_views.jwks_view),
    re_path(r"^api/?(?P<rest>.*)$", api.api_view),
]

if config.flag("ORDERFACTORY_BENCH", False):
    from orderfactory import bench_views

    urlpatterns.append(path("_bench/ceiling", bench_views.ceiling_view))
