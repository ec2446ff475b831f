"""The README's command-line worked example runs as written, on generated DICOM files.

The commands and study.json are read from the README itself, so the example cannot drift
from what the commands do.
"""

import csv
import io
import json
import re
import shlex
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from demo.synthetic.dicom_writer import (
    MRSeriesInfo,
    RadiographInfo,
    StudyInfo,
    uid,
    write_mr_series,
    write_radiograph,
)
from demo.synthetic.identities import fake_patient, fake_sites
from ratings.models import Membership, Rating, ReaderStudy, Role, Split

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"
RATERS = ("expert-01", "expert-02", "expert-03")


def worked_example() -> tuple[list[list[str]], dict]:
    """The example's commands (as call_command arguments) and its study.json."""
    text = README.read_text()
    start = text.index("## Worked example: a dataset rated elsewhere")
    section = text[start : text.index("\n## ", start + 1)]
    commands = [
        shlex.split(line)[2:]
        for line in section.splitlines()
        if line.startswith("python manage.py ")
    ]
    study_json = re.search(r"```json\n(.*?)```", section, re.S).group(1)
    return commands, json.loads(study_json)


def _study(rng: np.random.Generator, n: int) -> StudyInfo:
    return StudyInfo(
        fake_patient(rng), fake_sites(rng)[0], uid("study", n), f"A{n}", datetime(2024, 3, n, 9),
        "REF^Doctor", "OPER^Ator",
    )  # fmt: skip


def write_incoming(root: Path) -> dict[str, int]:
    """Five radiographs of five patients (one inside a zip), a 2-slice MR series and a note.

    Returns each rateable path and a 'true' quality from 1 to 5 for it.
    """
    rng = np.random.default_rng(7)
    (root / "chest").mkdir(parents=True)
    quality = {}
    for n in range(1, 6):
        pixels = np.clip(rng.normal(2000, 300 * n, (48, 40)), 0, 4095).astype(np.uint16)
        info = RadiographInfo("DX", "MONOCHROME2", uid("series", n), uid("sop", n))
        path = root / "chest" / f"{n:04d}.dcm"
        write_radiograph(path, pixels, _study(rng, n), info)
        quality[f"chest/{n:04d}.dcm"] = 6 - n
    # One radiograph comes zipped, as archives often do.
    with zipfile.ZipFile(root / "more.zip", "w") as archive:
        archive.write(root / "chest" / "0005.dcm", "inner/0005.dcm")
    (root / "chest" / "0005.dcm").unlink()
    quality["more.zip/inner/0005.dcm"] = quality.pop("chest/0005.dcm")
    volume = rng.integers(0, 2000, (2, 32, 32)).astype(np.uint16)
    series = MRSeriesInfo(uid("mr"), uid("for"), [uid("mr-sop", 1), uid("mr-sop", 2)])
    write_mr_series(root / "mr", volume, _study(rng, 6), series)
    quality["mr/001.dcm"] = quality["mr/002.dcm"] = 3
    (root / "notes.txt").write_text("not an image\n")
    return quality


def write_ratings(path: Path, quality: dict[str, int]) -> None:
    """Three raters, each off the truth by their own bias; the MR series is rated through
    either of its files."""
    rows = [("image", "rater", "dimension", "value")]
    for r, rater in enumerate(RATERS):
        for image, q in quality.items():
            if image == ("mr/002.dcm" if r == 0 else "mr/001.dcm"):
                continue
            rows.append((image, rater, "overall", str(min(5, q + (r == 2)))))
            rows.append((image, rater, "acceptable", "acceptable" if q >= 3 else "non-acceptable"))
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def test_the_readme_worked_example_runs_as_written(tmp_path, monkeypatch):
    commands, definition = worked_example()
    assert [c[0] for c in commands] == [
        "import_dicom", "create_study", "import_ratings", "make_split", "train", "predict",
    ]  # fmt: skip
    monkeypatch.chdir(tmp_path)
    quality = write_incoming(tmp_path / "incoming")
    Path("study.json").write_text(json.dumps(definition))
    write_ratings(Path("ratings.csv"), quality)

    outputs = []
    for command in commands:
        if command[0] == "predict":  # the version id is the one `train` printed
            trained = json.loads(outputs[-1].strip().splitlines()[-1])
            command[command.index("--model-version") + 1] = str(trained["model_version"])
        out = io.StringIO()
        call_command(*command, stdout=out, stderr=io.StringIO())
        outputs.append(out.getvalue())

    with open("manifest.csv", newline="") as handle:
        manifest = {row["path"]: row for row in csv.DictReader(handle)}
    assert set(manifest) == set(quality) | {"notes.txt"}
    assert manifest["notes.txt"]["status"] == "skipped"
    assert manifest["notes.txt"]["reason"].startswith("not_dicom")
    assert manifest["notes.txt"]["image"] == ""
    imported = {p: row["image"] for p, row in manifest.items() if row["status"] == "imported"}
    assert len(imported) == 7
    # The two files of the series became one image; every other file its own.
    assert imported["mr/001.dcm"] == imported["mr/002.dcm"]
    assert len(set(imported.values())) == 6

    study = ReaderStudy.objects.get(name=definition["name"])
    assert study.study_images.count() == 6
    assert list(study.dimensions.values_list("key", flat=True)) == ["overall", "acceptable"]
    ana = get_user_model().objects.get(username="ana")
    assert not ana.has_usable_password()
    assert Membership.objects.filter(user=ana, study=study, role=Role.COORDINATOR).exists()
    assert Membership.objects.filter(
        user__username="ben", study=study, role=Role.RESEARCHER
    ).exists()

    ratings = Rating.objects.filter(assessment__study=study, dimension__key="overall")
    assert ratings.count() == 6 * len(RATERS)
    got = {
        (r.assessment.image.label, r.assessment.rater.rater_profile.pseudonym): r.value
        for r in ratings.select_related("assessment__image", "assessment__rater__rater_profile")
    }
    for path, q in quality.items():
        assert got[(imported[path], "expert-01")] == q
        assert got[(imported[path], "expert-03")] == min(5, q + 1)

    check_training_steps(outputs, study)
    split = Split.objects.get(pk=int(outputs[3].strip()))
    parts = dict(split.assignments.values_list("image__label", "subset"))
    assert sorted(parts) == sorted(set(imported.values()))


def test_a_folder_imported_again_gives_a_manifest_naming_the_same_images(tmp_path):
    """Whoever lost the first manifest gets it back: a duplicate names the image it is in."""
    write_incoming(tmp_path / "incoming")
    manifests = []
    for n in (1, 2):
        path = tmp_path / f"manifest-{n}.csv"
        call_command(
            "import_dicom", str(tmp_path / "incoming"), "--dataset", "again",
            "--manifest", str(path), "--no-progress", stdout=io.StringIO(),
        )  # fmt: skip
        with path.open(newline="") as handle:
            manifests.append({row["path"]: row for row in csv.DictReader(handle)})
    first, second = manifests
    assert set(first) == set(second)
    for path, row in second.items():
        if path == "notes.txt":
            continue
        assert (row["status"], row["reason"].split(":")[0]) == ("skipped", "duplicate")
        assert row["image"] == first[path]["image"] != ""


def check_training_steps(outputs: list[str], study) -> None:
    """Steps 5 and 6: a model version from the study's labels, and its predictions."""
    trained = json.loads(outputs[4].strip().splitlines()[-1])
    assert trained["status"] == "succeeded", trained["error"]
    assert trained["metrics"]["test"]["n"] >= 1
    with open("predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert set(rows[0]) == {"image", "prediction", "uncertainty"}
    test_part = study.splits.get().assignments.filter(subset="test").count()
    assert len(rows) == test_part
    # A linear fit on a 1-5 scale predicts finite scores near it.
    assert all(-5 < float(row["prediction"]) < 11 for row in rows)
