"""The ratings app's REST API, one module per concern; routes are in ratings/urls_api.py."""
