"""Template context shared by every page: what the navigation may offer this user."""

from django.http import HttpRequest

from ratings.permissions import Action, datasets_for, may_create_dataset, studies_for


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can_view_results": False, "can_manage_datasets": False}
    # Raters never see a link to results they may not open. Callables, so the queries run only
    # on pages whose template shows the links (the reading page does not).
    return {
        "can_view_results": lambda: studies_for(user, Action.VIEW_RESULTS).exists(),
        "can_manage_datasets": lambda: may_create_dataset(user) or datasets_for(user).exists(),
    }
