"""Forms of the study setup pages: settings, image choice, dimensions (a formset), members."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.forms import BaseModelFormSet, modelformset_factory

from ratings.models import Dimension, ReaderStudy, Role
from ratings.permissions import datasets_for
from ratings.protection import Protected, check_dimension_delete, check_dimension_scale
from ratings.studysetup import (
    ImagePick,
    SetupError,
    dimension_scale,
    find_users,
    repeat_fraction_problem,
    split_words,
)


class StudySettingsForm(forms.ModelForm):
    class Meta:
        model = ReaderStudy
        fields = [
            "name",
            "dataset",
            "instructions",
            "min_view_ms",
            "idle_threshold_ms",
            "repeat_fraction",
            "order_seed",
            "show_model_output",
        ]
        labels = {
            "min_view_ms": "Minimum view time (ms)",
            "idle_threshold_ms": "Idle threshold (ms)",
            "repeat_fraction": "Repeat fraction (0-1)",
            "order_seed": "Order seed",
        }
        widgets = {"instructions": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = datasets_for(user)
        self.fields["repeat_fraction"].widget.attrs.update(min=0, max=1, step=0.01)
        if self.instance.pk and self.instance.study_images.exists():
            # Its images come from this dataset: moving the study would strand them.
            self.fields["dataset"].disabled = True
            self.fields["dataset"].help_text = "Fixed once images are chosen."

    def clean_repeat_fraction(self) -> float:
        value = self.cleaned_data["repeat_fraction"]
        if problem := repeat_fraction_problem(value):
            raise forms.ValidationError(problem)
        return value


class ImageChoiceForm(forms.Form):
    how = forms.ChoiceField(
        choices=ImagePick.choices, initial=ImagePick.ALL, widget=forms.RadioSelect, label="Take"
    )
    modality = forms.ChoiceField(required=False, choices=())
    sample_size = forms.IntegerField(required=False, min_value=1, label="N (random sample)")
    sample_seed = forms.IntegerField(required=False, min_value=0, initial=0, label="Sample seed")
    labels = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "IMG-000001\nIMG-000002"}),
        help_text="One label per line (or separated by commas).",
    )
    replace = forms.BooleanField(
        required=False,
        label="Replace the current images (otherwise add to them)",
        help_text="Images that already have readings are never removed.",
    )

    def __init__(self, *args, modalities: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["modality"].choices = [("", "—")] + [(m, m) for m in modalities]

    def clean(self):
        data = super().clean()
        how = data.get("how")
        if how == ImagePick.MODALITY and not data.get("modality"):
            self.add_error("modality", "Choose a modality.")
        if how == ImagePick.SAMPLE and not data.get("sample_size"):
            self.add_error("sample_size", "Give the number of images to draw.")
        if how == ImagePick.LABELS:
            data["label_list"] = split_words(data.get("labels", ""))
            if not data["label_list"]:
                self.add_error("labels", "Give at least one image label.")
        return data


CATEGORY_EXAMPLE = "non-diagnostic\ndiagnostic\nexcellent"


class DimensionForm(forms.ModelForm):
    categories_text = forms.CharField(
        required=False,
        label="Category labels",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": CATEGORY_EXAMPLE}),
        help_text="For categories: one label per line, lowest first.",
    )
    image_labels = forms.CharField(
        required=False,
        label="Only these images",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Image labels; empty = every image of the study.",
    )

    class Meta:
        model = Dimension
        fields = ["key", "label", "kind", "min_value", "max_value", "criteria", "order", "raters"]
        labels = {
            "min_value": "Lowest score",
            "max_value": "Highest score",
            "raters": "Only these raters",
        }
        widgets = {
            "criteria": forms.Textarea(attrs={"rows": 3}),
            "raters": forms.CheckboxSelectMultiple,
        }
        help_texts = {"raters": "None ticked = every rater of the study."}

    def __init__(self, *args, study: ReaderStudy, **kwargs):
        super().__init__(*args, **kwargs)
        self.study = study
        raters = study.memberships.filter(role=Role.RATER).values("user_id")
        self.fields["raters"].queryset = (
            get_user_model()
            .objects.filter(pk__in=raters)
            .select_related("rater_profile")
            .order_by("username")
        )
        self.fields["raters"].label_from_instance = _pseudonym
        # Implied by the kind for binary and category dimensions; checked in clean() for scores.
        for name in ("min_value", "max_value", "order"):
            self.fields[name].required = False
        if self.instance.pk:
            self.fields["categories_text"].initial = "\n".join(map(str, self.instance.categories))
            self.fields["image_labels"].initial = "\n".join(
                self.instance.images.values_list("label", flat=True)
            )

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        taken = self.study.dimensions.filter(key=key).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"This study already has a dimension {key!r}.")
        return key

    def clean(self):
        data = super().clean()
        categories = split_lines(data.get("categories_text", ""))
        scale = dimension_scale(
            data.get("kind"), data.get("min_value"), data.get("max_value"), categories
        )
        for name, problem in scale.problems.items():
            self.add_error("categories_text" if name == "categories" else name, problem)
        data["min_value"], data["max_value"] = scale.min_value, scale.max_value
        categories = scale.categories
        if data.get("order") is None:
            data["order"] = self.instance.order or 0
        data["categories"] = categories
        self.instance.categories = categories
        self._check_rated(data)
        labels = split_words(data.get("image_labels", ""))
        data["image_ids"] = []
        if labels:
            found = dict(self.study.images.filter(label__in=labels).values_list("label", "pk"))
            unknown = [label for label in labels if label not in found]
            if unknown:
                self.add_error(
                    "image_labels", "Not in this study: " + ", ".join(unknown[:10]) + "."
                )
            data["image_ids"] = list(found.values())
        return data

    def _check_rated(self, data) -> None:
        """A dimension with ratings keeps its scale: the stored values would lose their meaning."""
        if not self.instance.pk or data.get("kind") is None:
            return
        try:
            check_dimension_scale(
                self.instance,
                kind=data.get("kind"),
                min_value=data.get("min_value"),
                max_value=data.get("max_value"),
                categories=data["categories"],
            )
        except Protected as refusal:
            raise forms.ValidationError(str(refusal)) from None

    def save(self, commit: bool = True) -> Dimension:
        dimension = super().save(commit=False)
        dimension.study = self.study
        dimension.min_value = self.cleaned_data["min_value"]
        dimension.max_value = self.cleaned_data["max_value"]
        dimension.categories = self.cleaned_data["categories"]
        dimension.order = self.cleaned_data["order"]
        if commit:
            dimension.save()
            self.save_m2m()
            dimension.images.set(self.cleaned_data["image_ids"])
        return dimension


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _pseudonym(user) -> str:
    profile = getattr(user, "rater_profile", None)
    return f"{profile.pseudonym} ({user.get_username()})" if profile else user.get_username()


class BaseDimensionFormSet(BaseModelFormSet):
    def __init__(self, *args, study: ReaderStudy, **kwargs):
        self.study = study
        kwargs.setdefault("queryset", study.dimensions.all())
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "study": self.study}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            study=self.study,
        )
        self.add_fields(form, None)
        return form

    def clean(self):
        super().clean()
        # Checked here: a formset ignores the errors of the forms marked for deletion.
        for form in self.deleted_forms:
            try:
                check_dimension_delete(form.instance)
            except Protected as refusal:
                raise forms.ValidationError(str(refusal)) from None
        keys = [
            f.cleaned_data.get("key")
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        duplicates = sorted({k for k in keys if k and keys.count(k) > 1})
        if duplicates:
            shared = ", ".join(duplicates)
            raise forms.ValidationError(f"Two dimensions share the key {shared}.")


DimensionFormSet = modelformset_factory(
    Dimension, form=DimensionForm, formset=BaseDimensionFormSet, extra=1, can_delete=True
)


class MembersForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.RATER)
    usernames = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "alice\nbob"}),
        help_text="Usernames, one per line or separated by commas.",
    )

    def clean_usernames(self) -> list:
        try:
            return find_users(split_words(self.cleaned_data["usernames"]))
        except SetupError as error:
            raise forms.ValidationError(str(error)) from None
