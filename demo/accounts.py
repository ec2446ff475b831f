"""The demo's people: who they are and how to log in (printed by `make run`)."""

DEMO_PASSWORD = "demo-password-2026"
COORDINATOR = "coordinator"
RESEARCHER = "researcher"
ADMIN = "admin"
N_RATERS = 10


def rater_username(index: int) -> str:
    """Demo raters are rater01 .. rater10."""
    return f"rater{index:02d}"
