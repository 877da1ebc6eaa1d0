from django.urls import path, re_path

from scoring import insight_views, report_views, views

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("portfolio.csv", views.portfolio_csv, name="portfolio-csv"),
    path("adoption/", views.adoption, name="adoption"),
    path("alerts/", views.alerts, name="alerts"),
    path("insights/", insight_views.insights, name="insights"),
    path("insights/<slug:key>.csv", insight_views.insight_csv, name="insight-csv"),
    re_path(
        r"^r/(?P<token>[A-Za-z0-9_-]{20,64})/$", report_views.shared_report, name="shared-report"
    ),
    path("accounts/<int:pk>/reports", report_views.report_create, name="report-create"),
    path(
        "accounts/<int:pk>/reports/<int:report_id>/revoke",
        report_views.report_revoke,
        name="report-revoke",
    ),
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
