"""Template context shared by every page: what the navigation may offer this user."""

from django.http import HttpRequest

from ratings.permissions import Action, studies_for


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can_view_results": False}
    # Raters never see a link to results they may not open. A callable, so the query runs only
    # on pages whose template shows the link (the reading page does not).
    return {"can_view_results": lambda: studies_for(user, Action.VIEW_RESULTS).exists()}
