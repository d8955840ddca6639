"""The WordPress plugin: valid PHP, escaped output, and a zip pre-filled with
the agency's key and the server URL."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[3] / "widget" / "wordpress" / "markezy"


def test_php_files_lint():
    php = shutil.which("php")
    if php is None:
        if os.environ.get("CI"):
            pytest.fail("php-cli is required in CI (scripts/bootstrap.sh --test installs it)")
        pytest.skip("php-cli not installed on this machine")
    for path in PLUGIN.glob("*.php"):
        result = subprocess.run([php, "-l", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_plugin_uses_settings_api_escaping_and_defer():
    source = (PLUGIN / "markezy.php").read_text()
    for needle in ("register_setting", "sanitize_callback", "settings_fields", "esc_attr", "esc_url",
                   "wp_enqueue_script", "'strategy' => 'defer'", "script_loader_tag", "add_shortcode( 'markezy'",
                   "current_user_can"):
        assert needle in source, needle
    assert "<script>" not in source  # no inline scripts: strict CSPs keep working
    assert "delete_option" in (PLUGIN / "uninstall.php").read_text()
    assert "=== Markezy ===" in (PLUGIN / "readme.txt").read_text()


@pytest.mark.django_db
def test_zip_is_prefilled_with_key_and_server(make_agency, login, settings):
    settings.PUBLIC_BASE_URL = "https://chat.example.com"
    a = make_agency()
    admin, _ = login(a.admin)
    response = admin.get(f"/api/v1/widget/wordpress-plugin.zip?key={a.key.key}")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert {"markezy/markezy.php", "markezy/uninstall.php", "markezy/readme.txt"} <= set(archive.namelist())
    main = archive.read("markezy/markezy.php").decode()
    assert f"'{a.key.key}'" in main and "'https://chat.example.com'" in main and "{{MARKEZY" not in main
    # Another agency's key is never written into the zip.
    other = make_agency("Otra")
    foreign = admin.get(f"/api/v1/widget/wordpress-plugin.zip?key={other.key.key}")
    assert other.key.key not in zipfile.ZipFile(io.BytesIO(foreign.content)).read("markezy/markezy.php").decode()
    viewer, _ = login(a.viewer)
    assert viewer.get("/api/v1/widget/wordpress-plugin.zip").status_code == 403
