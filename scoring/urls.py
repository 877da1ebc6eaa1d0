from django.urls import path

from scoring import views

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("portfolio.csv", views.portfolio_csv, name="portfolio-csv"),
    path("adoption/", views.adoption, name="adoption"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/handle", views.alert_handle, name="alert-handle"),
    path("accounts/<int:pk>/", views.account_detail, name="account-detail"),
    path("accounts/<int:pk>/activities", views.activity_add, name="activity-add"),
    path("accounts/<int:pk>/objectives", views.objective_add, name="objective-add"),
    path(
        "accounts/<int:pk>/objectives/<int:objective_id>/close",
        views.objective_close,
        name="objective-close",
    ),
    path("accounts/<int:pk>/checklist/<int:item_id>", views.checklist_tick, name="checklist-tick"),
    path(
        "accounts/<int:pk>/use-cases/<int:use_case_id>/override",
        views.use_case_override,
        name="use-case-override",
    ),
]
