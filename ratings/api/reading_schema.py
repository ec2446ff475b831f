"""The reading API's documents as OpenAPI schemas (documentation only: the views read and
build plain dicts, checked in ratings/reading.py), so clients and Schemathesis see their shape."""

from rest_framework import serializers

from ..models import AssessmentStatus
from ..reading import CLIENT_NUMBERS, INTERACTIONS


class AssessmentOutSerializer(serializers.Serializer):
    """One of the rater's own assessments (`reading_payload.assessment_out`)."""

    client_id = serializers.UUIDField()
    item = serializers.CharField()
    status = serializers.ChoiceField(choices=AssessmentStatus.choices)
    skip_reason = serializers.CharField(allow_blank=True)
    ratings = serializers.DictField(child=serializers.IntegerField())
    submitted_at = serializers.DateTimeField(allow_null=True)
    active_ms = serializers.IntegerField(allow_null=True)


class ViewportSerializer(serializers.Serializer):
    window_width = serializers.FloatField(required=False)
    window_center = serializers.FloatField(required=False)
    zoom = serializers.FloatField(required=False)
    x = serializers.FloatField(required=False)
    y = serializers.FloatField(required=False)
    rotation = serializers.FloatField(required=False)
    invert = serializers.BooleanField(required=False)
    hflip = serializers.BooleanField(required=False)
    vflip = serializers.BooleanField(required=False)
    pixel_replication = serializers.BooleanField(required=False)
    slice = serializers.IntegerField(required=False)
    n_slices = serializers.IntegerField(required=False)


class TimingSerializer(serializers.Serializer):
    """The client's timing report (frontend timing.js); ms durations and ms-since-1970 clocks."""

    counts = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text=", ".join(INTERACTIONS)
    )
    first_input_ms = serializers.DictField(child=serializers.FloatField(), required=False)
    viewport = ViewportSerializer(required=False)

    def get_fields(self):
        fields = super().get_fields()
        for name in CLIENT_NUMBERS:
            fields[name] = serializers.FloatField(required=name == "submitted_ms")
        return fields


class SubmissionSerializer(serializers.Serializer):
    """A submission or skip; idempotent by `client_id`. The item by its worklist id (`item`)
    or, for a study without repeats, by `image` id."""

    client_id = serializers.UUIDField()
    item = serializers.CharField(required=False)
    image = serializers.IntegerField(required=False)
    repeat_index = serializers.IntegerField(required=False)
    ratings = serializers.DictField(child=serializers.IntegerField(), required=False)
    skip_reason = serializers.CharField(required=False, allow_blank=True)
    timing = TimingSerializer(required=False)


class ChangeSerializer(serializers.Serializer):
    """A change of a stored assessment; idempotent by `edit_id`."""

    ratings = serializers.DictField(child=serializers.IntegerField())
    edit_id = serializers.UUIDField()
    timing = TimingSerializer(required=False)
