"""Forms of the exports page: a split (ratios, seed, stratification) and a release."""

from django import forms

from ratings.models import ImageFormat, ReaderStudy, Split, StratifyBy
from ratings.results.release import DEFAULT_PNG_SIZE, PNG_SIZES


class SplitForm(forms.Form):
    train = forms.FloatField(min_value=0, initial=0.7, label="Train share")
    val = forms.FloatField(min_value=0, initial=0.15, label="Validation share")
    test = forms.FloatField(min_value=0, initial=0.15, label="Test share")
    seed = forms.IntegerField(min_value=0, initial=1, label="Seed")
    stratify_by = forms.ChoiceField(
        choices=StratifyBy.choices, initial=StratifyBy.NONE, label="Stratify by"
    )
    dimension = forms.ChoiceField(required=False, choices=(), label="Dimension (to stratify by)")
    n_bins = forms.IntegerField(min_value=2, max_value=10, initial=3, label="MOS bins")

    def __init__(self, *args, study: ReaderStudy, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dimension"].choices = [("", "—")] + [
            (d.key, f"{d.label} ({d.get_kind_display().lower()})")
            for d in study.dimensions.order_by("order", "pk")
        ]
        for name in ("train", "val", "test"):
            self.fields[name].widget.attrs.update(step="0.01")

    def clean(self):
        data = super().clean()
        if data.get("stratify_by", StratifyBy.NONE) != StratifyBy.NONE and not data.get(
            "dimension"
        ):
            self.add_error("dimension", "Choose the dimension to stratify by.")
        return data


class ReleaseForm(forms.Form):
    split = forms.ModelChoiceField(
        queryset=Split.objects.none(), required=False, empty_label="No split column"
    )
    image_format = forms.ChoiceField(choices=ImageFormat.choices, label="Image format")
    png_size = forms.IntegerField(
        required=False,
        min_value=PNG_SIZES[0],
        max_value=PNG_SIZES[1],
        initial=DEFAULT_PNG_SIZE,
        label="PNG size (longest side, px)",
        help_text="Only for PNG; DICOM files are released as stored.",
    )

    def __init__(self, *args, study: ReaderStudy, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["split"].queryset = Split.objects.filter(study=study)

    def params(self) -> dict:
        data = self.cleaned_data
        params = {"image_format": data["image_format"]}
        if data.get("split"):
            params["split"] = data["split"].pk
        if data["image_format"] == ImageFormat.PNG:
            params["png_size"] = data.get("png_size") or DEFAULT_PNG_SIZE
        return params
