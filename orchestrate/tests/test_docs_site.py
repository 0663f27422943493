"""The lineage site: `netflow-pca docs` writes one static file that renders in headless Chromium,
opening on the project's overview, and prints no colour codes when its output is not a terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from orchestrate.tests.chromium import CHROMIUM, chromium
from orchestrate.tests.conftest import Project, run_cli
from orchestrate.tests.models import MOST_DOWNSTREAM_MODEL


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (CI installs it)")
def test_lineage_site_renders_the_most_downstream_model(project: Project, tmp_path: Path) -> None:
    project.load_sample_events()
    built = run_cli(project.env, "docs", "--var", "events_table=events")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    site = project.target_dir / "static_index.html"
    assert f"Docs site: {site}" in built.stdout
    unique_id = f"model.netflow_pca.{MOST_DOWNSTREAM_MODEL}"
    page = f"{site.as_uri()}#!/model/{unique_id}"

    dom = chromium(page, tmp_path / "profile", "--dump-dom")

    # the page embeds the manifest as data: look only at what the scripts rendered
    rendered = re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)
    assert re.search(rf'<h1>\s*<span class="break[^"]*">{MOST_DOWNSTREAM_MODEL}</span>', rendered)
    depends_on = rendered[rendered.index('id="depends_on"') :]
    shown_parents = set(re.findall(r'<a ng-href="#!/model/(model\.[\w.]+)"', depends_on.split("</section>")[0]))
    manifest = json.loads((project.target_dir / "manifest.json").read_text())
    model_parents = {parent for parent in manifest["parent_map"][unique_id] if parent.startswith("model.")}
    assert model_parents and shown_parents == model_parents

    # the site opens on the project's own overview, with the data flow, not dbt's welcome page
    overview = re.sub(r"<script\b.*?</script>", "", chromium(site.as_uri(), tmp_path / "profile", "--dump-dom"), flags=re.S)
    assert re.search(r"<h2[^>]*>The data flow</h2>", overview) and "stg_flows__events ─▶ int_hourly_counts" in overview
    assert "\x1b[" not in built.stdout

    screenshot = tmp_path / "lineage.png"
    chromium(f"{page}?g_v=1", tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1400,900")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000
