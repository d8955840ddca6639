"""A real WordPress (Debian's package) on loopback for the plugin's test.

Debian's `wordpress` package depends on Apache, so scripts/bootstrap.sh only
unpacks it under var/wordpress-pkg; here it is copied to a temporary site,
its relative symlinks pointed at the system's files, configured against the
test MariaDB, installed with `wp_install()`, and served by `php -S`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import MySQLdb

PKG = Path(__file__).resolve().parents[2] / "var" / "wordpress-pkg"
PLUGIN = Path(__file__).resolve().parents[2] / "widget" / "wordpress" / "markezy"
ADMIN_USER, ADMIN_PASSWORD = "admin", "admin-pass-1234"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _php(site: Path, code: str) -> str:
    result = subprocess.run(["php", "-d", "display_errors=stderr", "-r", code], cwd=site, capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"php failed: {result.stdout}\n{result.stderr}")
    return result.stdout


class WordPress:
    def __init__(self, root: Path, db: dict):
        self.site = root / "wordpress"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_name = f"wp_{uuid.uuid4().hex[:10]}"
        self.db = db
        self.proc: subprocess.Popen | None = None

    def install(self) -> "WordPress":
        source = PKG / "usr" / "share" / "wordpress"
        if not (source / "wp-load.php").exists():
            raise RuntimeError("WordPress is not unpacked: run scripts/bootstrap.sh --test")
        shutil.copytree(source, self.site, symlinks=True)
        for link in [p for p in self.site.rglob("*") if p.is_symlink()]:
            relative_dir = link.parent.relative_to(self.site)
            target = os.path.normpath(os.path.join("/usr/share/wordpress", str(relative_dir), os.readlink(link)))
            link.unlink()
            if Path(target).exists():
                link.symlink_to(target)
        connection = MySQLdb.connect(host=self.db["HOST"], port=int(self.db["PORT"]), user=self.db["USER"],
                                     passwd=self.db["PASSWORD"])
        connection.cursor().execute(f"CREATE DATABASE {self.db_name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        connection.close()
        (self.site / "wp-config.php").write_text(f"""<?php
define('DB_NAME', '{self.db_name}');
define('DB_USER', '{self.db["USER"]}');
define('DB_PASSWORD', '{self.db["PASSWORD"]}');
define('DB_HOST', '{self.db["HOST"]}:{self.db["PORT"]}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('WP_HOME', '{self.url}');
define('WP_SITEURL', '{self.url}');
define('WP_CONTENT_DIR', __DIR__ . '/wp-content');
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('DISABLE_WP_CRON', true);
foreach (['AUTH_KEY','SECURE_AUTH_KEY','LOGGED_IN_KEY','NONCE_KEY','AUTH_SALT','SECURE_AUTH_SALT','LOGGED_IN_SALT','NONCE_SALT'] as $k) define($k, '{uuid.uuid4().hex}');
$table_prefix = 'wp_';
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
""")
        plugins = self.site / "wp-content" / "plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        shutil.copytree(PLUGIN, plugins / "markezy")
        _php(self.site, "define('WP_INSTALLING', true); $_SERVER['HTTP_HOST']='127.0.0.1'; require 'wp-load.php'; "
                        "require_once ABSPATH . 'wp-admin/includes/upgrade.php'; "
                        f"wp_install('Panadería Sol', '{ADMIN_USER}', 'admin@example.com', true, '', '{ADMIN_PASSWORD}');")
        _php(self.site, "$_SERVER['HTTP_HOST']='127.0.0.1'; require 'wp-load.php'; "
                        "require_once ABSPATH . 'wp-admin/includes/plugin.php'; "
                        "$r = activate_plugin('markezy/markezy.php'); if (is_wp_error($r)) { fwrite(STDERR, $r->get_error_message()); exit(1); } "
                        "wp_insert_post(['post_title'=>'Contacto','post_name'=>'contacto','post_status'=>'publish','post_type'=>'page',"
                        "'post_content'=>'Escríbenos por el chat.']);")
        return self

    def serve(self) -> "WordPress":
        self.proc = subprocess.Popen(["php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.site)], cwd=self.site,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("php -S did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
