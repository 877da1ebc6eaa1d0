"""The app's URLs plus a plain JsonResponse view: the baseline of the API benchmark."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def baseline(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "answer": 42})


urlpatterns = [path("bench/baseline", baseline), path("", include("usagehub.urls"))]
