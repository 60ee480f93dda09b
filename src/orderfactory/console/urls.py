from django.urls import path

from orderfactory.console import views

urlpatterns = [
    path("", views.overview),
    path("login", views.sign_in),
    path("logout", views.sign_out),
    path("mode", views.switch_mode),
    path("copies/", views.copy_list),
    path("copies/<str:copy_id>", views.copy_detail),
    path("copies/<str:copy_id>/retry", views.copy_retry),
    path("copies/<str:copy_id>/cancel-target", views.copy_cancel_target),
    path("subscriptions/", views.subscription_list),
    path("subscriptions/<str:subscription_id>", views.subscription_detail),
    path("subscriptions/<str:subscription_id>/<str:name>", views.subscription_act),
    path("orders/", views.order_list),
    path("orders/<str:order_id>", views.order_detail),
    path("applications/", views.application_list),
    path("applications/create", views.application_create),
    path("applications/<str:application_id>/revoke", views.application_revoke),
    path("webhooks/", views.webhook_list),
    path("webhooks/<str:webhook_id>", views.webhook_detail),
    path("webhooks/<str:webhook_id>/reset-circuit", views.webhook_reset_circuit),
    path("webhooks/<str:webhook_id>/redeliver", views.webhook_redeliver),
    path("static/<str:name>", views.static_file),
]
