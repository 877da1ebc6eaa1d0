from django.urls import path

from accounts import api as crm
from scoring import api, api_scores

urlpatterns = [
    path("pings", api.PingView.as_view(), name="api-pings"),
    path("pings/batch", api.PingBatchView.as_view(), name="api-pings-batch"),
    path("accounts", crm.AccountList.as_view(), name="api-accounts"),
    path("accounts/<int:pk>", crm.AccountDetail.as_view(), name="api-account"),
    path(
        "accounts/by-external-id/<str:crm_id>",
        crm.AccountUpsert.as_view(),
        name="api-account-upsert",
    ),
    path("accounts/<int:pk>/objectives", crm.ObjectiveListCreate.as_view(), name="api-objectives"),
    path(
        "accounts/<int:pk>/activities",
        api_scores.ActivityListCreateScored.as_view(),
        name="api-activities",
    ),
    path("accounts/<int:pk>/use-cases", crm.AccountUseCaseList.as_view(), name="api-use-cases"),
    path(
        "accounts/<int:pk>/use-cases/<slug:key>",
        crm.AccountUseCaseWrite.as_view(),
        name="api-use-case",
    ),
    path(
        "accounts/<int:pk>/use-cases/<slug:key>/checklist",
        crm.ChecklistTick.as_view(),
        name="api-checklist",
    ),
    path("accounts/<int:pk>/health", api_scores.AccountHealth.as_view(), name="api-health"),
    path(
        "accounts/<int:pk>/health/history",
        api_scores.AccountHealthHistory.as_view(),
        name="api-health-history",
    ),
    path("subscriptions", crm.SubscriptionList.as_view(), name="api-subscriptions"),
    path(
        "subscriptions/by-external-id/<str:external_id>",
        crm.SubscriptionUpsert.as_view(),
        name="api-subscription-upsert",
    ),
    path("instances", crm.InstanceList.as_view(), name="api-instances"),
    path("instances/by-uuid/<str:uuid>", crm.InstanceUpsert.as_view(), name="api-instance-upsert"),
    path("objectives/<int:pk>", crm.ObjectiveUpdate.as_view(), name="api-objective"),
    path("objectives/<int:pk>/close", crm.ObjectiveClose.as_view(), name="api-objective-close"),
    path("alerts", api_scores.AlertList.as_view(), name="api-alerts"),
    path(
        "alerts/<int:pk>/acknowledge",
        api_scores.AlertAcknowledge.as_view(),
        name="api-alert-acknowledge",
    ),
    path("alerts/<int:pk>/close", api_scores.AlertClose.as_view(), name="api-alert-close"),
    path("exports/crm", api_scores.CrmExport.as_view(), name="api-export-crm"),
]
