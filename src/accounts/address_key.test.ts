import assert from "node:assert/strict";
import { addressKey } from "./address_key.ts";

Deno.test("addressKey() counts an IPv6 address by its /64, however it is written", () => {
  const prefix = "2001:db8:1:2::/64";
  for (
    const address of [
      "2001:db8:1:2::1",
      "2001:DB8:1:2:aaaa:bbbb:cccc:dddd",
      "2001:0db8:0001:0002:ffff:ffff:ffff:ffff",
      "[2001:db8:1:2::9]",
      "2001:db8:1:2:0:0:192.0.2.1",
    ]
  ) {
    assert.equal(addressKey(address), prefix, address);
  }
  assert.equal(addressKey("2001:db8:1:3::1"), "2001:db8:1:3::/64", "the next /64 is apart");
  assert.equal(addressKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(addressKey("fe80::1%eth0"), "fe80:0:0:0::/64");
  assert.equal(addressKey("::1"), "0:0:0:0::/64");
});

Deno.test("addressKey() counts an IPv4-mapped IPv6 address as its IPv4 address", () => {
  assert.equal(addressKey("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(addressKey("::FFFF:c000:201"), "192.0.2.1");
  assert.equal(addressKey("0:0:0:0:0:ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(addressKey("192.0.2.1"), "192.0.2.1");
});

Deno.test("addressKey() keeps anything that is not an IP address as it is", () => {
  assert.equal(addressKey("unknown"), "unknown");
  for (const address of ["1:2:3", "1::2::3", "::ffff:300.0.0.1", "1:2:3:4:5:6:7:8:9", "g::1"]) {
    assert.equal(addressKey(address), address, address);
  }
});
