"""The coordinator's viewer draws the model's saliency over the image when asked, with the
model's score beside it, and follows the opacity slider."""

import pytest

from tests.factories import names
from tests.inference.rated import make_rated_study
from tests.inference.versions import make_version

pytestmark = pytest.mark.browser

CANVAS_SUM = """() => {
  const canvas = document.querySelector('#viewport canvas');
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let red = 0, green = 0;
  for (let i = 0; i < data.length; i += 4) { red += data[i]; green += data[i + 1]; }
  return [red, green];
}"""


@pytest.mark.parametrize(
    ("who", "where"),
    [(names.COORDINATOR, "datasets/{dataset}/images/{image}/"),
     (names.RESEARCHER, "studies/{study}/images/{image}/")],
)  # fmt: skip
def test_the_overlay_toggle_draws_the_heatmap_over_the_image(
    people, page, login, live_server, tmp_path, who, where
):
    study = make_rated_study(people, tmp_path)
    version = make_version(study, arch="cahdc-rga", active=True)
    image = study.dataset.images.order_by("pk").first()
    login(page, who)
    path = where.format(dataset=study.dataset.pk, study=study.pk, image=image.pk)
    page.goto(f"{live_server.url}/{path}")
    page.wait_for_function("() => document.getElementById('viewport').dataset.rendered === '1'")
    page.wait_for_timeout(100)  # one animation frame: the image is on the canvas
    red0, green0 = page.evaluate(CANVAS_SUM)
    assert red0 == green0  # a grey radiograph

    assert page.locator("#saliency-model option").first.get_attribute("value") == str(version.pk)
    page.get_by_label("Model saliency").check()
    page.wait_for_function("() => document.getElementById('viewport').dataset.saliency === 'drawn'")
    page.wait_for_timeout(100)
    red1, green1 = page.evaluate(CANVAS_SUM)
    # The heatmap runs dark red to yellow: red rises above green where it is drawn.
    assert red1 - green1 > 0.01 * red0
    score = page.locator("#saliency-score").text_content()
    assert score not in ("–", "…") and float(score)
    assert "attention" in page.locator("#saliency-method").text_content()

    page.locator("#saliency-opacity").fill("0")
    page.wait_for_timeout(150)
    assert page.evaluate(CANVAS_SUM) == [red0, green0]
    page.get_by_label("Model saliency").uncheck()
    page.wait_for_function("() => document.getElementById('viewport').dataset.saliency === 'off'")


def test_no_model_controls_without_an_active_version(people, page, login, live_server, tmp_path):
    study = make_rated_study(people, tmp_path)
    make_version(study, arch="cahdc-rga", active=False)
    image = study.dataset.images.first()
    login(page, names.COORDINATOR)
    page.goto(f"{live_server.url}/datasets/{study.dataset.pk}/images/{image.pk}/")
    page.wait_for_function("() => document.getElementById('viewport').dataset.rendered === '1'")
    assert page.locator("#saliency-controls").count() == 0
    # The study's image page keeps its thumbnail only, without a model to show.
    page.goto(f"{live_server.url}/studies/{study.pk}/images/{image.pk}/")
    assert page.locator("#viewport").count() == 0
