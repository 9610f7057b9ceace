"""The demo page in a real headless Chromium: upload an image, read the predicted letter."""

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


@pytest.fixture
def driver() -> Iterator[Any]:
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


@pytest.fixture
def service(onnx_model_dir: Path) -> Iterator[LocalService]:
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
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    image = tmp_path / "letter-W.png"
    image.write_bytes(png(letter(22), scale=12, mode="RGB"))  # 22 = W
    driver.get(service.scoring_uri)  # browsers ask for text/html: the demo page
    assert "ASL" in driver.title
    driver.find_element(By.ID, "file-input").send_keys(str(image))
    WebDriverWait(driver, 30).until(ec.text_to_be_present_in_element((By.ID, "status"), "Predicted"))
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
    shot = tmp_path / "demo-page.png"
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 1000
    keep_artifact(shot)
