"""Content-Security-Policy for the site's own pages: defence in depth against injected script.

Pages show text that users typed (study names, criteria, instructions, skip reasons). Django
escapes it; this policy makes sure that if something ever slips through, the browser still runs
only our own script files. The reading page sets a stricter policy of its own
(frontend/reading.py); the admin and the API's browsable pages (Django's and DRF's, with inline
scripts of their own) are left to their defaults.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Inline style attributes (progress bars) and the <style> inside the server-made SVG
        # figures; styles cannot run code.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",  # thumbnails come inline as data: URIs
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
EXEMPT_PREFIXES = ("/admin/", "/api/")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            "Content-Security-Policy" not in response
            and response.get("Content-Type", "").startswith("text/html")
            and not request.path.startswith(EXEMPT_PREFIXES)
            # Django's debug error pages run inline script of their own (developers only).
            and not (settings.DEBUG and response.status_code >= 400)
        ):
            response["Content-Security-Policy"] = PAGE_CSP
        return response
