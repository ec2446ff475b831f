"""Real DICOM files render as the standard says: read back from the canvas, compared with pydicom.

MONOCHROME1 (shown inverted: low values bright), signed and rescaled pixels, and compressed
transfer syntaxes (JPEG 2000, JPEG-LS, RLE), multi-frame included. For each file the canvas is
sampled at the screen position of a grid of image pixels (cornerstone.pixelToCanvas), and
compared with pydicom's pixels put through the same window as the viewer shows: a correlation
near +1 means the right image, the right way round; an inverted display would give near -1, and
a blank one no variation at all.
"""

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut

from imaging.models import Image
from ratings.models import Assessment
from tests.factories import names
from tests.frontend.reading_fixtures import ingest_files, make_reading_study, pydicom_data_file

pytestmark = pytest.mark.browser

FILES = {
    "RG3_J2KR.dcm": "MONOCHROME1, JPEG 2000 lossless, CR 1760x1760",
    "CT_small.dcm": "signed, rescaled CT",
    "emri_small_jpeg_ls_lossless.dcm": "JPEG-LS lossless, 10 frames",
    "MR_small_RLE.dcm": "RLE lossless, signed",
}
GRID = 24

SAMPLE_JS = """
({grid}) => {
  const v = window.__iqa.viewer;
  const element = v.element;
  const canvas = element.querySelector('canvas');
  const ctx = canvas.getContext('2d');
  const image = v.image;
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const out = [];
  for (let j = 0; j < grid; j++) {
    for (let i = 0; i < grid; i++) {
      const x = Math.floor((i + 0.5) * image.columns / grid);
      const y = Math.floor((j + 0.5) * image.rows / grid);
      const p = cornerstone.pixelToCanvas(element, {x: x + 0.5, y: y + 0.5});
      const cx = Math.round(p.x), cy = Math.round(p.y);
      const outside = cx < 0 || cy < 0 || cx >= canvas.width || cy >= canvas.height;
      if (outside) { out.push(null); continue; }
      out.push([x, y, data[(cy * canvas.width + cx) * 4]]);
    }
  }
  return {samples: out, state: v.state(), imageInvert: !!image.invert,
          photometric: image.photometricInterpretation, slice: v.index};
}
"""


def expected_display(path, frame: int, window_width: float, window_center: float) -> np.ndarray:
    """What a standard display shows, 0..255: modality LUT, linear VOI, MONOCHROME1 inverted."""
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array
    if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
        pixels = pixels[frame]
    values = apply_modality_lut(pixels, ds).astype(np.float64)
    # DICOM PS3.3 C.11.2.1.2.1, the linear VOI function (as cornerstone applies it).
    shown = ((values - (window_center - 0.5)) / (window_width - 1) + 0.5) * 255
    shown = np.clip(shown, 0, 255)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        shown = 255 - shown
    return shown


def check_canvas(page, image_file) -> dict:
    result = page.evaluate(SAMPLE_JS, {"grid": GRID})
    samples = [s for s in result["samples"] if s is not None]
    assert len(samples) > 0.8 * GRID * GRID, "the image is not on the canvas"
    state = result["state"]
    assert state["invert"] is False  # shown as the standard says, no user inversion
    expected = expected_display(
        image_file.file.path, result["slice"], state["window_width"], state["window_center"]
    )
    shown = np.array([s[2] for s in samples], dtype=float)
    wanted = np.array([expected[s[1], s[0]] for s in samples])
    what = (image_file.transfer_syntax, image_file.photometric, result["slice"])
    assert shown.std() > 8, f"{what}: the canvas is blank"
    r = np.corrcoef(shown, wanted)[0, 1]
    assert r > 0.9, (what, r)
    # The mean brightness agrees too (an inverted display would be far off).
    assert abs(shown.mean() - wanted.mean()) < 40, (what, shown.mean(), wanted.mean())
    return result


# As served by the test server (static files from Django's finders), and as deployed: gunicorn,
# DEBUG off, hashed static names, and the codecs fetched by the viewer's worker under their own.
@pytest.mark.parametrize("served_by", ["live_server", "deployed_server"])
def test_real_dicom_files_render_right_side_up(served_by, request, page, login, people, tmp_path):
    server = request.getfixturevalue(served_by)
    dataset = ingest_files("pydicom files", [pydicom_data_file(n) for n in FILES], tmp_path)
    study = make_reading_study(people, dataset, name="Rendering")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
    if served_by == "deployed_server":
        server.admit(people[names.RATER])
    login(page, names.RATER, server=server)
    page.goto(f"{server.url}/studies/{study.id}/read/")
    seen = set()
    for n in range(len(FILES)):
        page.wait_for_function("n => window.__iqa && window.__iqa.rendered >= n", arg=n + 1)
        # No repeats: the page names the image (its id is not sent to the browser).
        image = Image.objects.get(dataset=dataset, label=page.locator("#image-label").inner_text())
        image_file = image.files.get()
        result = check_canvas(page, image_file)
        if image_file.photometric == "MONOCHROME1":
            assert result["imageInvert"] is True
        if image_file.n_frames > 1:
            # The next slice of the stack is the file's next frame.
            page.keyboard.press("ArrowDown")
            page.wait_for_function("() => window.__iqa.viewer.state().slice === 1")
            page.wait_for_timeout(100)
            assert check_canvas(page, image_file)["slice"] == 1
        seen.add((image_file.photometric, image_file.transfer_syntax, image.n_frames))
        page.keyboard.press("s")
        page.keyboard.press("3")  # skip: "does not load" is not true, but moves on
    page.wait_for_function("() => window.__iqa.outbox() === 0")
    # The slice scrolled to is on record with the (skip) assessment of the stack.
    stack = Assessment.objects.get(image__n_frames__gt=1)
    assert stack.scroll_count == 1 and stack.final_viewport["slice"] == 1
    photometrics = {p for p, _, _ in seen}
    syntaxes = {t for _, t, _ in seen}
    assert "MONOCHROME1" in photometrics
    assert {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.5"} <= syntaxes
    assert not errors, errors
    assert not failed, failed
