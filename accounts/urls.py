from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("accounts/<int:pk>/", views.account_detail, name="account-detail"),
]
