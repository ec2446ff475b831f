"""Find a reader study by what a coordinator types on the command line: its id or its name."""

from django.core.management.base import CommandError

from ..models import ReaderStudy


def study_from_cli(text: str) -> ReaderStudy:
    """The study with this id or name; CommandError naming the known studies otherwise."""
    found = ReaderStudy.objects.filter(name=text).first()
    if found is None and text.isdigit():
        found = ReaderStudy.objects.filter(pk=int(text)).first()
    if found is None:
        known = ", ".join(ReaderStudy.objects.values_list("name", flat=True)[:20]) or "none"
        raise CommandError(f"no reader study {text!r} (studies: {known})")
    return found
