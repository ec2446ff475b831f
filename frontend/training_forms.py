"""The launch form of a training run: field types only. What a run may be (ranges, targets that
fit a dimension, splits of the study) is checked by inference.runs.create_run, whose problems
the view puts back on these fields."""

from django import forms

from inference.models import Architecture, HoldOut, Target
from inference.training.config import BALANCING, default_config
from ratings.models import Split

# The hyper-parameters the form offers; the rest of TrainConfig keeps the architecture's default.
SETTINGS = (
    "epochs",
    "batch_size",
    "lr",
    "input_width",
    "input_height",
    "seed",
    "dropout",
    "balance",
)


def defaults_by_arch() -> dict[str, dict]:
    """The papers' defaults per architecture (inference/training/config.py), for the page's
    script to fill the fields with when the architecture changes."""
    out = {}
    for arch in Architecture.values:
        config = default_config(arch).to_dict()
        out[arch] = {name: config[name] for name in SETTINGS}
    return out


class LaunchForm(forms.Form):
    study = forms.ModelChoiceField(queryset=None, empty_label=None)
    dimension = forms.ChoiceField(help_text="The dimension whose expert labels the model learns.")
    target = forms.ChoiceField(
        required=False,
        choices=[("", "The dimension's own (MOS, or the majority vote)")] + Target.choices,
    )
    arch = forms.ChoiceField(label="Architecture", choices=Architecture.choices)
    epochs = forms.IntegerField()
    batch_size = forms.IntegerField(label="Batch size")
    lr = forms.FloatField(label="Learning rate")
    input_width = forms.IntegerField(label="Input width (px)")
    input_height = forms.IntegerField(label="Input height (px)")
    seed = forms.IntegerField()
    dropout = forms.FloatField()
    balance = forms.ChoiceField(
        label="Class imbalance",
        choices=[(b, b) for b in BALANCING],
        help_text="Classifiers: weighted loss or a balanced sampler (the MRI paper's lesson).",
    )
    split = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="The study's latest split",
        help_text="Train / validation / test parts, patients never in two.",
    )
    hold_out_by = forms.ChoiceField(label="Hold out", choices=HoldOut.choices, required=False)
    hold_out = forms.CharField(
        label="Held-out values",
        required=False,
        max_length=2000,
        help_text="Sites or manufacturers, comma-separated: never trained on, reported apart.",
    )

    def __init__(self, *args, studies, **kwargs):
        super().__init__(*args, **kwargs)
        studies = studies.order_by("name").prefetch_related("dimensions")
        self.fields["study"].queryset = studies
        self.fields["split"].queryset = Split.objects.filter(study__in=studies).select_related(
            "study"
        )
        self.fields["split"].label_from_instance = lambda s: (
            f"{s.study.name}: split #{s.pk} (seed {s.seed})"
        )
        # Every study's dimensions, grouped by study; create_run refuses a key the chosen
        # study does not have.
        groups = []
        for study in studies:
            dims = [(d.key, f"{d.label} ({d.kind})") for d in study.dimensions.all()]
            groups.append((study.name, dims))
        self.fields["dimension"].choices = groups
        self.initial.setdefault("arch", Architecture.CONVNET4)
        for name, value in defaults_by_arch()[self.initial["arch"]].items():
            self.initial.setdefault(name, value)

    def hold_out_values(self) -> tuple[str, ...]:
        raw = self.cleaned_data.get("hold_out") or ""
        return tuple(v.strip() for v in raw.split(",") if v.strip())

    def settings(self) -> dict:
        return {name: self.cleaned_data[name] for name in SETTINGS}
