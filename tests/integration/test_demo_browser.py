"""The demo page in a real headless Chromium: upload an image, read the predicted letter and see
what the recogniser used (the hand's landmarks on the photo, the 28x28 crop)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from asl_recognition.deploy import get_deployer
from asl_recognition.deploy.local import LocalService

pytestmark = [pytest.mark.browser, pytest.mark.serve]

#: The colour of the landmark dots on the photo canvas (COLOURS.landmark in index.html).
LANDMARK_RGB = (0xFF, 0x1F, 0x5A)

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,1000",
]


def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """One headless Chromium for the module's tests (each opens the demo page afresh)."""
    found = _chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(
                "chromium and chromium-driver must be installed under CI (apt-get install chromium chromium-driver)"
            )
        pytest.skip("chromium/chromedriver not installed (apt-get install chromium chromium-driver); CI is not set")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as ChromeService

    profile = tempfile.mkdtemp(prefix="asl-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    drv = webdriver.Chrome(service=ChromeService(executable_path=found[1]), options=options)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def service(onnx_model_dir: Path) -> Iterator[LocalService]:
    """One local service for the module's tests: they only send it requests."""
    svc = get_deployer("local").deploy(onnx_model_dir)
    yield svc
    svc.delete()


def test_upload_shows_letter_and_model_input(
    driver: Any,
    service: LocalService,
    tmp_path: Path,
    letter: Callable[..., npt.NDArray[np.uint8]],
    png: Callable[..., bytes],
    keep_artifact: Callable[[Path], Path | None],
) -> None:
    from selenium.webdriver.common.by import By

    image = tmp_path / "letter-W.png"
    image.write_bytes(png(letter(22), scale=12, mode="RGB"))  # 22 = W
    _upload(driver, service, image)
    assert driver.find_element(By.ID, "letter").text == "W"
    candidates = driver.find_elements(By.CSS_SELECTOR, "#top li.candidate")
    assert len(candidates) == 3
    assert candidates[0].get_attribute("data-letter") == "W"
    # the 28x28 canvas shows what the model saw: the bright block of W, on a dark background
    pixels = driver.execute_script(
        "const c = document.getElementById('model-input').getContext('2d');"
        "return Array.from(c.getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0));"
    )
    seen = np.asarray(pixels, dtype=np.uint8).reshape(28, 28)
    assert np.abs(seen.astype(int) - letter(22)).max() <= 1
    # a greyscale image has no hand to find: the page says so, and draws no landmarks
    assert "No hand found" in driver.find_element(By.ID, "hand-info").text
    assert driver.find_element(By.ID, "photo").get_attribute("data-landmarks") == "0"
    shot = tmp_path / "demo-page.png"
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 1000
    keep_artifact(shot)


@pytest.mark.realdata
def test_a_real_photo_shows_the_landmarks_the_detector_found(
    driver: Any,
    service: LocalService,
    photos_dir: Path,
    tmp_path: Path,
    keep_artifact: Callable[[Path], Path | None],
) -> None:
    """A real colour photo: its 21 landmarks are drawn where the detector found them (scaled
    from the photo to the canvas), the crop is shown, and the text describes the learned
    detector, not the skin colour, as the way the hand is found."""
    from selenium.webdriver.common.by import By

    photo, pose, size = _first_detected_photo(sorted(photos_dir.glob("A/*.jpg")))
    _upload(driver, service, photo)

    intro = driver.find_element(By.TAG_NAME, "body").text
    assert "found by skin colour" not in intro
    assert "learned hand detector" in intro and "21 landmarks" in intro
    assert "without J and Z" in intro
    canvas = driver.find_element(By.ID, "photo")
    assert canvas.get_attribute("data-landmarks") == "21"
    assert canvas.get_attribute("data-detector") == "landmarks"
    assert canvas.get_attribute("data-mirrored") in {"true", "false"}
    info = driver.find_element(By.ID, "hand-info").text
    assert "21 landmarks" in info and "learned hand detector" in info and "Mirrored" in info
    assert "21 hand landmarks" in (canvas.get_attribute("aria-label") or "")

    _assert_landmarks_drawn(driver, photo, pose, size)

    crop = driver.execute_script(
        "const c = document.getElementById('model-input').getContext('2d');"
        "return Array.from(c.getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0));"
    )
    assert np.ptp(np.asarray(crop)) > 50  # the hand's crop, drawn (a blank canvas is all 0)
    shot = tmp_path / "demo-page-photo.png"
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 1000
    keep_artifact(shot)


def _upload(driver: Any, service: LocalService, image: Path) -> None:
    """Open the demo page, pick ``image`` in its file field and wait for the prediction."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(service.scoring_uri)  # browsers ask for text/html: the demo page
    assert "ASL" in driver.title
    driver.find_element(By.ID, "file-input").send_keys(str(image))
    WebDriverWait(driver, 30).until(ec.text_to_be_present_in_element((By.ID, "status"), "Predicted"))


def _first_detected_photo(photos: list[Path]) -> tuple[Path, npt.NDArray[np.float64], tuple[int, int]]:
    """The first of ``photos`` in which the learned detector finds a hand: the photo, its 21
    landmarks (x, y photo pixels, as the service finds them) and the photo's (height, width)."""
    from asl_recognition.images import observe_image
    from asl_recognition.photo.handpose import hand_detector_available

    assert hand_detector_available(), "hand models not installed: run 'asl-recognition install-hand-models'"
    for path in photos:
        observation = observe_image(path)
        if observation.pose is not None:
            return path, np.asarray(observation.pose.landmarks, dtype=np.float64), observation.photo_size
    raise AssertionError(f"the learned detector finds no hand in any of {len(photos)} photos")


@pytest.mark.realdata
def test_an_exif_rotated_photo_is_drawn_upright_as_the_service_read_it(
    driver: Any, service: LocalService, photos_dir: Path, tmp_path: Path
) -> None:
    """A landscape photo saved with EXIF orientation 6 (shown turned a quarter clockwise): the
    page draws it as the service decoded it (portrait), and the landmarks land on the hand."""
    from PIL import Image
    from selenium.webdriver.common.by import By

    landscape = [p for p in sorted(photos_dir.glob("A/*.jpg")) if _is_landscape(p)]
    original, _, _ = _first_detected_photo(landscape)
    rotated = tmp_path / "exif-rotated.jpg"
    with Image.open(original) as im:
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
        im.convert("RGB").save(rotated, quality=95, exif=exif)
    photo, pose, size = _first_detected_photo([rotated])
    assert size[0] > size[1], "the service reads the EXIF orientation: a portrait photo"
    _upload(driver, service, photo)
    assert driver.find_element(By.ID, "photo").get_attribute("data-landmarks") == "21"
    _assert_landmarks_drawn(driver, photo, pose, size)


def _is_landscape(path: Path) -> bool:
    from PIL import Image

    with Image.open(path) as im:
        return bool(im.width > im.height)


def _assert_landmarks_drawn(
    driver: Any, photo: Path, landmarks: npt.NDArray[np.float64], size: tuple[int, int]
) -> None:
    """The photo canvas shows the photo with the shape the service saw (``size``: height,
    width) and a landmark dot at each of ``landmarks`` (photo pixels) that lies in the photo."""
    width, height, rgba = driver.execute_script(
        "const c = document.getElementById('photo');"
        "return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)];"
    )
    assert abs(width / height - size[1] / size[0]) < 0.02, f"canvas {width}x{height}, photo {size[1]}x{size[0]}"
    pixels = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3].astype(int)
    xy = np.floor(landmarks * [width / size[1], height / size[0]]).astype(int)
    inside = [(x, y) for x, y in xy if 0 <= x < width and 0 <= y < height]
    assert len(inside) >= 15, f"{photo}: only {len(inside)} of 21 landmarks inside the photo"
    off = [(x, y, pixels[y, x].tolist()) for x, y in inside if np.abs(pixels[y, x] - LANDMARK_RGB).max() > 8]
    assert not off, f"landmark dots missing at {off}"
    # the photo itself is drawn under the overlay (not a blank canvas full of dots)
    assert (np.abs(pixels - LANDMARK_RGB).max(axis=-1) <= 8).mean() < 0.05
    assert pixels.std() > 20
