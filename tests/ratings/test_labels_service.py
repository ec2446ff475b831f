"""The labels door the model half uses: MOS and majority per image, with the split part."""

import pytest

from ratings.results.splits import make_split
from ratings.services.labels import LabelsError, study_labels
from tests.factories import names, rate


def test_each_image_gets_its_mos_its_raters_count_and_its_split_part(people, study):
    first, second, third = study.images.order_by("pk")
    rate(study, people[names.RATER], first, {"gray-level": 4, "sharpness": 7})
    rate(study, people[names.RATER2], first, {"gray-level": 7, "sharpness": 8})
    rate(study, people[names.RATER], second, {"gray-level": 9, "sharpness": 2})
    split = make_split(study=study, ratios=(0.34, 0.33, 0.33), seed=1)

    labels = study_labels(study, "gray-level", split)

    by_id = {image.image_id: image for image in labels.images}
    assert by_id[first.pk].mos == pytest.approx(5.5)
    assert by_id[first.pk].n_ratings == 2
    assert by_id[second.pk].mos == pytest.approx(9.0)
    assert by_id[third.pk].mos is None and by_id[third.pk].n_ratings == 0
    assert [image.image_id for image in labels.rated()] == [first.pk, second.pk]
    assert sorted(image.part for image in labels.images) == ["test", "train", "val"]
    assert labels.kind == "score" and labels.classes == []


def test_an_unknown_dimension_is_refused_with_the_ones_there_are(study):
    with pytest.raises(LabelsError, match="gray-level"):
        study_labels(study, "noise")
