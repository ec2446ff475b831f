"""A small rated study to train on: generated radiographs whose gray-level MOS falls with
their blur, rated by two raters, split by patient. Shared by the API and the page tests."""

from demo.seeding import chest_paper_dimensions
from imaging.ingest import ingest_paths
from imaging.models import Dataset, Image
from ratings.models import Membership, ReaderStudy, Role, StudyImage
from ratings.results.splits import make_split
from tests.factories import names, rate
from tests.inference.synthetic import clean_chest, degraded, write_chest_dicom

N_IMAGES = 16


def make_rated_study(people, tmp_path, n_unrated: int = 0):
    """Radiographs whose gray-level MOS falls with their blur, rated by two raters, split.

    The last `n_unrated` images (the blurriest) are in the study but nobody rated them."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    blur_of = {}
    for index in range(N_IMAGES):
        blur = 3.0 * index / (N_IMAGES - 1)
        display = degraded(clean_chest(index, shape=(96, 64)), blur=blur)
        write_chest_dicom(folder / f"img{index:02d}.dcm", display)
        blur_of[f"img{index:02d}.dcm"] = blur
    dataset = Dataset.objects.create(name="blurred")
    report = ingest_paths(dataset, [folder], workers=1)
    study = ReaderStudy.objects.create(name="blur study", dataset=dataset)
    chest_paper_dimensions(study)
    members = {names.RATER: Role.RATER, names.RATER2: Role.RATER,
               names.RESEARCHER: Role.RESEARCHER, names.COORDINATOR: Role.COORDINATOR}  # fmt: skip
    for user, role in members.items():
        Membership.objects.create(user=people[user], study=study, role=role)
    # The synthetic files share one made-up patient; give each its own, so the split (grouped
    # by patient) has a validation and a test part.
    for index, image in enumerate(dataset.images.order_by("pk")):
        Image.objects.filter(pk=image.pk).update(patient_key=f"patient-{index}")
    images = {image.pk: image for image in dataset.images.all()}
    for outcome in report.outcomes:
        image = images[outcome.image]
        StudyImage.objects.create(study=study, image=image)
        if int(outcome.name.split("/")[-1][3:5]) >= N_IMAGES - n_unrated:
            continue
        score = round(9 - 2.5 * blur_of[outcome.name.split("/")[-1]])
        rate(study, people[names.RATER], image, {"gray-level": score})
        rate(study, people[names.RATER2], image, {"gray-level": max(1, score - 1)})
    make_split(study=study, ratios=(0.6, 0.2, 0.2), seed=1)
    return study
