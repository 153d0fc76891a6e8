import assert from "node:assert/strict";
import type { ClusterStatus } from "../cluster/cluster.ts";
import { signerStatus } from "./status.ts";
import {
  testClusterSource as member,
  testOwnRelaySource as ownRelay,
  testStatusSources as sources,
} from "./status_testing.ts";

Deno.test("signerStatus() is ready with a subscribed relay, or nothing to watch, or an advertised own relay", () => {
  assert.equal(signerStatus(sources(true)).ready, true);
  assert.equal(signerStatus(sources(false)).ready, false);
  assert.equal(signerStatus(sources(false, { size: 0 })).ready, true);
  assert.equal(signerStatus(sources(false, { relayServer: ownRelay(true) })).ready, true);
  assert.equal(signerStatus(sources(false, { relayServer: ownRelay(false) })).ready, false);
});

Deno.test("signerStatus() of a cluster instance that watches bunkers needs a subscribed relay", () => {
  assert.equal(signerStatus(sources(true, { cluster: member(5) })).ready, true);
  assert.equal(signerStatus(sources(false, { cluster: member(5) })).ready, false);
  assert.equal(
    signerStatus(sources(false, { cluster: member(5), relayServer: ownRelay(true) })).ready,
    true,
    "an advertised own relay serves every authorization",
  );
});

Deno.test("signerStatus() of a cluster instance that watches no bunker needs no relay", () => {
  assert.equal(signerStatus(sources(false, { cluster: member(0) })).ready, true);
});

Deno.test("signerStatus() of a cluster instance is not ready before it joined, fenced or leaving", () => {
  for (
    const change of [{ instances: 0 }, { fenced: true }, { leaving: true }] as Partial<
      ClusterStatus
    >[]
  ) {
    const status = signerStatus(sources(true, { cluster: member(5, change) }));
    assert.equal(status.ready, false, JSON.stringify(change));
  }
});
