import assert from "node:assert/strict";
import { untrustedProxyWarning } from "./proxy_warning.ts";

Deno.test("untrustedProxyWarning() warns for an https public URL without --trust-proxy", () => {
  const warning = untrustedProxyWarning({
    publicUrl: "https://keycast.example.com",
    trustedProxies: [],
  });
  assert.match(warning ?? "", /treat all clients as one address/);
  assert.match(warning ?? "", /set --trust-proxy to the proxy's address/);
  assert.equal(
    untrustedProxyWarning({
      publicUrl: "https://keycast.example.com",
      trustedProxies: ["10.0.0.2"],
    }),
    undefined,
  );
  assert.equal(
    untrustedProxyWarning({ publicUrl: "http://127.0.0.1:3000", trustedProxies: [] }),
    undefined,
  );
  assert.equal(untrustedProxyWarning({ publicUrl: undefined, trustedProxies: [] }), undefined);
});
