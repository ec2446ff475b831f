"""import_ratings: a study rated elsewhere comes in whole, or not at all, bad lines named."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from ratings.models import (
    Assessment,
    Dimension,
    Membership,
    RaterProfile,
    Rating,
    ReaderStudy,
    Role,
    StudyImage,
)
from ratings.results.agreement import study_agreement_report
from ratings.results.importer import ImportRejected, import_ratings
from tests.factories import make_study, names

from .export_helpers import add_category_dimension, rate, rate_everything

pytestmark = pytest.mark.django_db


def twin_study(study: ReaderStudy, name: str) -> ReaderStudy:
    """A new, empty study over the same images with the same dimensions."""
    twin = ReaderStudy.objects.create(name=name, dataset=study.dataset)
    for study_image in study.study_images.all():
        StudyImage.objects.create(study=twin, image=study_image.image)
    for d in study.dimensions.all():
        d.pk = None
        d.study = twin
        d.save()
    return twin


def test_exported_csv_reimported_into_a_new_study_gives_the_same_agreement_report(
    people, make_user, tmp_path
):
    study = make_study(people, n_images=8)
    add_category_dimension(study)
    raters = [people[names.RATER], people[names.RATER2], make_user("no-profile")]
    rate_everything(study, raters)
    first = study.images.order_by("pk").first()
    rate(study, people[names.RATER], first, {"gray-level": 3, "grade": 1}, repeat_index=1)
    exported = tmp_path / "ratings.csv"
    call_command("export_ratings", str(study.pk), "-o", str(exported), stderr=io.StringIO())

    twin = twin_study(study, "rated elsewhere")
    out = io.StringIO()
    call_command("import_ratings", twin.name, str(exported), stdout=out)

    assert f"imported {8 * 3 * 4 + 2} ratings" in out.getvalue()
    report = study_agreement_report(study)
    assert report["dimensions"]["gray-level"]["retest"] is not None
    assert study_agreement_report(twin) == report
    # The rater without a profile came back under the pseudonym the export gave them.
    new = RaterProfile.objects.get(pseudonym=f"rater-{raters[2].pk}")
    assert not new.user.has_usable_password()
    assert Membership.objects.filter(user=new.user, study=twin, role=Role.RATER).exists()
    timing = Assessment.objects.filter(study=twin, image=first, rater=people[names.RATER])
    assert sorted(timing.values_list("repeat_index", "active_ms")) == sorted(
        Assessment.objects.filter(study=study, image=first, rater=people[names.RATER]).values_list(
            "repeat_index", "active_ms"
        )
    )


BAD = """image,rater,dimension,value,duration_ms
{a},R-alice,gray-level,7,4000
{a},R-alice,gray-level,8,4000
NOPE,R-alice,gray-level,7,
{b},R-alice,loudness,7,
{b},R-alice,sharpness,11,
{b},R-alice,sharpness,seven,
{b},R-alice,acceptable,2,
{c},R-bob,gray-level,5,-3
{c},,gray-level,5,
{c},R-new,grade,excellent,
{c},R-new,grade,diagnostic, ok,
"""


def test_every_bad_row_is_reported_by_line_and_nothing_is_imported(study, people):
    add_category_dimension(study)
    a, b, c = (image.label for image in study.images.order_by("pk"))
    users_before = get_user_model().objects.count()

    with pytest.raises(ImportRejected) as caught:
        import_ratings(study, BAD.format(a=a, b=b, c=c))

    messages = {e.line: e.message for e in caught.value.errors}
    assert "duplicate" in messages[3] and "line 2" in messages[3]
    assert "'NOPE' is not in the study" in messages[4]
    assert "unknown dimension 'loudness'" in messages[5]
    assert "outside 'sharpness'" in messages[6] and "1..10" in messages[6]
    assert "not a number" in messages[7]
    assert "outside 'acceptable'" in messages[8]
    assert "duration_ms" in messages[9]
    assert "empty 'rater'" in messages[10]
    assert "not a category" in messages[11]
    assert "more cells" in messages[12]
    assert 2 not in messages
    assert Assessment.objects.count() == 0 and Rating.objects.count() == 0
    assert get_user_model().objects.count() == users_before


def test_the_command_prints_line_numbers_and_fails(study, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("image,rater,dimension,value\nNOPE,R-x,gray-level,3\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 bad row"):
        call_command("import_ratings", study.name, str(path), stderr=err)
    assert "line 2: image 'NOPE' is not in the study" in err.getvalue()


def test_missing_columns_and_unknown_study_are_clear_errors(study, tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("image,who,dimension,score\n")
    with pytest.raises(CommandError, match="bad row"):
        call_command("import_ratings", study.name, str(path), stderr=io.StringIO())
    with pytest.raises(CommandError, match="no reader study 'nope'"):
        call_command("import_ratings", "nope", str(path))


def test_importing_the_same_file_twice_is_refused_the_second_time(study, people):
    image = study.images.order_by("pk").first()
    text = f"image,rater,dimension,value\n{image.label},R-alice,gray-level,6\n"
    report = import_ratings(study, text)
    assert (report.n_ratings, report.new_raters) == (1, [])

    with pytest.raises(ImportRejected) as caught:
        import_ratings(study, text)

    assert "already has reading 0" in str(caught.value.errors[0])
    assert Rating.objects.filter(assessment__study=study).count() == 1


def test_labels_ids_and_binary_words_are_accepted(study, people):
    add_category_dimension(study)
    image = study.images.order_by("pk").last()
    text = (
        "image,rater,dimension,value,group\n"
        f"{image.pk},Ext-1,acceptable,non-acceptable,radiographer\n"
        f"{image.pk},Ext-1,grade,DIAGNOSTIC, OK\n".replace("DIAGNOSTIC, OK", '"DIAGNOSTIC, OK"')
        + f"{image.pk},Ext-1,gray-level,7.0,radiographer\n"
    )
    import_ratings(study, text)
    values = dict(
        Rating.objects.filter(assessment__study=study).values_list("dimension__key", "value")
    )
    assert values == {"acceptable": 0, "grade": 1, "gray-level": 7}
    assert RaterProfile.objects.get(pseudonym="Ext-1").profession == "radiographer"
    assert Dimension.objects.filter(study=study).count() == 4


def test_with_a_manifest_files_are_named_by_path_and_bad_paths_by_line(study, tmp_path):
    a, b, _c = (image.label for image in study.images.order_by("pk"))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "path,status,reason,image\n"
        f"scans/a.dcm,imported,,{a}\n"
        f"scans/series/1.dcm,imported,,{b}\n"
        f"scans/series/2.dcm,imported,,{b}\n"
        "notes.txt,skipped,not_dicom: no DICOM preamble,\n"
    )
    ratings = tmp_path / "ratings.csv"
    good = (
        "image,rater,dimension,value\n"
        "scans/a.dcm,R-alice,gray-level,7\n"
        "scans/series/2.dcm,R-alice,gray-level,4\n"
        f"{a},R-bob,gray-level,6\n"  # labels still work beside paths
    )
    ratings.write_text(good + "notes.txt,R-bob,gray-level,5\nscans/b.dcm,R-bob,gray-level,5\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 bad row"):
        call_command(
            "import_ratings", study.name, str(ratings), "--manifest", str(manifest), stderr=err
        )
    assert err.getvalue().splitlines() == [
        "line 5: file 'notes.txt' was skipped (not_dicom: no DICOM preamble): it is no image",
        "line 6: image 'scans/b.dcm' is neither a path in the manifest nor an image of the study",
    ]
    assert Rating.objects.count() == 0

    ratings.write_text(good)
    call_command("import_ratings", study.name, str(ratings), "--manifest", str(manifest))
    values = Rating.objects.filter(assessment__study=study).values_list(
        "assessment__image__label", "assessment__rater__rater_profile__pseudonym", "value"
    )
    assert sorted(values) == sorted([(a, "R-alice", 7), (b, "R-alice", 4), (a, "R-bob", 6)])


def test_a_manifest_without_its_columns_is_a_clear_error(study, tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,image\nx.dcm,IMG-1\n")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("image,rater,dimension,value\nx.dcm,R-alice,gray-level,7\n")
    with pytest.raises(CommandError, match="lacks column.*path, status, reason"):
        call_command("import_ratings", study.name, str(ratings), "--manifest", str(manifest))
