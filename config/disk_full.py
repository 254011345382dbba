"""A write that fails on a full disk is answered 507 naming the data dir, not 500.

DRF views get this from `config.api_errors.exception_handler`; this middleware does the same for
every other view (pages, streams). Both recognise the error with `core.errors.is_disk_full`.
"""

from django.http import JsonResponse

from core.errors import disk_full_error, is_disk_full


def disk_full_response() -> JsonResponse:
    error = disk_full_error()
    return JsonResponse({"code": error.code, "message": error.message, "details": error.details}, status=507)


class DiskFullMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return disk_full_response() if is_disk_full(exception) else None
