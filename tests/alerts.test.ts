// deploy/alerts.yml against what keycast renders: every keycast_* metric an alert names must be one
// `GET /metrics` writes, and every runbook link must land on a heading of docs/RUNBOOK.md, so the
// rules, the metrics and the runbook cannot drift apart.
import assert from "node:assert/strict";
import { Metrics } from "../src/metrics/metrics.ts";
import { renderMetrics, type StatusSources } from "../src/server/status.ts";
import { testClusterSource, testStatusSources } from "../src/server/status_testing.ts";

const root = new URL("../", import.meta.url);
const alertsText = await Deno.readTextFile(new URL("deploy/alerts.yml", root));
const runbookText = await Deno.readTextFile(new URL("docs/RUNBOOK.md", root));

/** The rules without comment lines (a metric named in a comment need not exist). */
const activeRules = alertsText.split("\n").filter((line) => !line.trimStart().startsWith("#"))
  .join("\n");

/** Every source reporting something, so each optional metric is rendered. */
const SOURCES: StatusSources = testStatusSources(true, { cluster: testClusterSource(1) });

/** Metric names in the rendered text: sample names, and the families of `# TYPE` lines. */
function renderedNames(): Set<string> {
  const metrics = new Metrics();
  metrics.observeRequest("sign_event", null, 3);
  const names = new Set<string>();
  for (const line of renderMetrics(metrics, SOURCES).split("\n")) {
    const name = line.startsWith("# TYPE ")
      ? line.split(" ")[2]
      : /^[a-z_:][a-z0-9_:]*/.exec(line)?.[0];
    if (name) names.add(name);
  }
  return names;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
function anchorOf(heading: string): string {
  return heading.toLowerCase().replace(/[^a-z0-9 _-]/g, "").replaceAll(" ", "-");
}

Deno.test("deploy/alerts.yml names only metrics that /metrics renders", () => {
  const used = new Set(activeRules.match(/\bkeycast_[a-z0-9_]+/g) ?? []);
  assert.ok(used.size >= 8, `too few metrics found in deploy/alerts.yml: ${[...used]}`);
  const rendered = renderedNames();
  const missing = [...used].filter((name) => !rendered.has(name));
  assert.deepEqual(missing, [], `not rendered by src/metrics/metrics.ts: ${missing.join(", ")}`);
});

Deno.test("deploy/alerts.yml gives every rule a for, a severity, a summary and a runbook section", () => {
  const rules = activeRules.split(/\n(?= {6}- alert: )/).slice(1);
  assert.ok(rules.length >= 8, `too few rules parsed: ${rules.length}`);
  const anchors = new Set(
    runbookText.split("\n").filter((line) => line.startsWith("## ")).map((line) =>
      anchorOf(line.slice(3))
    ),
  );
  for (const rule of rules) {
    const name = /- alert: (\S+)/.exec(rule)?.[1];
    assert.match(rule, /\n {8}for: \d+[smh]\n/, `${name}: no for`);
    assert.match(rule, /\n {10}severity: (warning|critical)\n/, `${name}: no severity`);
    assert.match(rule, /\n {10}summary: /, `${name}: no summary`);
    const link = /\n {10}runbook_url: docs\/RUNBOOK\.md#(\S+)/.exec(rule)?.[1];
    assert.ok(link && anchors.has(link), `${name}: runbook link "#${link}" matches no heading`);
  }
});
