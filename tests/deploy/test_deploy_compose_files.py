"""compose.yaml's attachments (docs/files.md): every Benben container mounts the `files` volume at
the local storage's path; FILES_STORAGE=s3 with COMPOSE_PROFILES=s3 points them at a MinIO of the
backend network (its bucket made by a one-shot), its root credentials being theirs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from compose_support import compose_config, parse_env_file, write_env_file
from deploy_tools import ROOT

BENBEN = ("app", "migrate", "worker", "scheduler")
FILES_PATH = "/var/lib/benben-files"


def resolved(environment: dict[str, str]) -> dict[str, Any]:
    """Benben's settings (core's and the bundled plugins') from a service's environment."""
    from importlib.metadata import entry_points

    from benben.cli.common import read_app_settings
    from benben.config import load_settings
    from benben.plugins.loader import discover_plugins

    plugins = discover_plugins(entry_points(group="benben.plugins", name="files"))
    settings, _ = load_settings(
        read_app_settings(str(ROOT / "production.ini")), environment, plugins
    )
    assert settings.unknown == []
    return settings.values


@pytest.fixture(scope="module")
def s3_model(binary: Path, filled_env: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    values = parse_env_file(filled_env) | {
        "COMPOSE_PROFILES": "s3",
        "FILES_STORAGE": "s3",
        "FILES_S3_SECRET_ACCESS_KEY": "minio-secret-0123456789",
    }
    env_file = write_env_file(tmp_path_factory.mktemp("compose-s3") / ".env", values)
    result = compose_config(binary, env_file)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_benben_container_mounts_the_files_volume(model: dict[str, Any]) -> None:
    assert "files" in model["volumes"]
    for name in BENBEN:
        service = model["services"][name]
        (mount,) = [m for m in service["volumes"] if m["target"] == FILES_PATH]
        assert (mount["type"], mount["source"]) == ("volume", "files"), name
        values = resolved(service["environment"])
        assert values["benben.files.storage"] == "local"
        assert values["benben.files.local.path"] == FILES_PATH
    # Without the profile, no MinIO runs.
    assert not {"minio", "minio-bucket"} & set(model["services"])


def test_the_s3_profile_runs_minio_and_points_benben_at_it(s3_model: dict[str, Any]) -> None:
    services = s3_model["services"]
    minio, bucket = services["minio"], services["minio-bucket"]
    assert minio["image"] == bucket["image"]
    assert minio["networks"].keys() == bucket["networks"].keys() == {"backend"}
    assert "ports" not in minio  # reached by the instances only
    assert bucket["depends_on"]["minio"]["condition"] == "service_healthy"
    for service in (minio, bucket):
        assert service["read_only"] is True
        assert "no-new-privileges:true" in service["security_opt"]
        assert service["deploy"]["resources"]["limits"]["memory"]
    for name in BENBEN:
        values = resolved(services[name]["environment"])
        assert values["benben.files.storage"] == "s3"
        assert values["benben.files.s3.endpoint_url"] == "http://minio:9000"
        assert values["benben.files.s3.addressing_style"] == "path"
        assert values["benben.files.s3.bucket"] == bucket["environment"]["BUCKET"] == "benben"
        # MinIO's root user is the instances' access key.
        assert values["benben.files.s3.access_key_id"] == minio["environment"]["MINIO_ROOT_USER"]
        assert (
            values["benben.files.s3.secret_access_key"]
            == minio["environment"]["MINIO_ROOT_PASSWORD"]
            == "minio-secret-0123456789"
        )
