from django.urls import path

from scoring import api

urlpatterns = [
    path("pings", api.PingView.as_view(), name="api-pings"),
    path("pings/batch", api.PingBatchView.as_view(), name="api-pings-batch"),
]
