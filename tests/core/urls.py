"""The project's URLs plus one state-changing API endpoint, so the defences can be tested on a write."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler404, handler500  # noqa: F401 - the project's JSON error pages
from config.urls import urlpatterns as project_urlpatterns
from core.errors import AppError
from events.services import event_append


class AppendView(APIView):
    def post(self, request):
        event = event_append(owner_id="run_security", type="message", data=dict(request.data))
        return Response({"seq": event.seq}, status=201)


class FailingView(APIView):
    def get(self, request):
        raise AppError(f"provider said: invalid key {request.GET['secret']}", code="provider_error")


urlpatterns = [
    path("api/test/append", AppendView.as_view()),
    path("api/test/fail", FailingView.as_view()),
    *project_urlpatterns,
]
