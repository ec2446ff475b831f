"""What the platform knows about a person who rates: a pseudonym and a profession group."""

from django.conf import settings
from django.db import models


class Profession(models.TextChoices):
    RADIOLOGIST = "radiologist", "Radiologist"
    RADIOGRAPHER = "radiographer", "Radiographer / technologist"
    RESIDENT = "resident", "Radiology resident"
    PHYSICIST = "physicist", "Medical physicist"
    OTHER = "other", "Other"


class RaterProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rater_profile"
    )
    # What exports and reports show instead of the user's name.
    pseudonym = models.CharField(max_length=32, unique=True)
    profession = models.CharField(
        max_length=32, choices=Profession.choices, default=Profession.OTHER
    )
    years_experience = models.PositiveSmallIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.pseudonym
