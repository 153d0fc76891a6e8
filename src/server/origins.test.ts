import assert from "node:assert/strict";
import { boundOrigins } from "./origins.ts";

Deno.test("boundOrigins() gives the loopback names for a loopback or wildcard bind", () => {
  const loopback = ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"];
  for (const host of ["127.0.0.1", "localhost", "::1", "0.0.0.0", "::"]) {
    assert.deepEqual(boundOrigins(host, 8080), loopback, host);
  }
});

Deno.test("boundOrigins() gives only the bound address otherwise, IPv6 in brackets", () => {
  assert.deepEqual(boundOrigins("10.0.0.5", 9000), ["http://10.0.0.5:9000"]);
  assert.deepEqual(boundOrigins("fd00::5", 9000), ["http://[fd00::5]:9000"]);
});
