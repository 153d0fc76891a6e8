/**
 * The key a client address is throttled under. An IPv6 address counts by its /64 prefix: that is
 * what one subscriber or one server usually gets, so hopping from address to address inside it
 * buys nothing. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a dual-stack socket reports
 * an IPv4 peer) counts as its IPv4 address. Anything else ("unknown", a name) is its own key.
 */

/** The throttle key of `address`: an IPv4 address, an IPv6 `/64` prefix, or the text itself. */
export function addressKey(address: string): string {
  const text = address.trim().toLowerCase();
  if (!text.includes(":")) return text;
  // `[2001:db8::1]` and `fe80::1%eth0` name the same host as without brackets or zone.
  const bare = text.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const words = ipv6Words(bare);
  if (!words) return text;
  if (words.slice(0, 5).every((word) => word === 0) && words[5] === 0xffff) {
    const [high, low] = [words[6]!, words[7]!];
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return `${words.slice(0, 4).map((word) => word.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit words of an IPv6 address in text form, or undefined when it is not one. */
function ipv6Words(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = groupWords(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groupWords(halves[1]!, true) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** The words of colon-separated groups; `last` allows a dotted IPv4 address as the last group. */
function groupWords(text: string, last: boolean): number[] | undefined {
  if (text === "") return [];
  const groups = text.split(":");
  const words: number[] = [];
  for (const [i, group] of groups.entries()) {
    if (/^[0-9a-f]{1,4}$/.test(group)) {
      words.push(parseInt(group, 16));
      continue;
    }
    const octets = last && i === groups.length - 1 ? ipv4Octets(group) : undefined;
    if (!octets) return undefined;
    words.push(octets[0]! << 8 | octets[1]!, octets[2]! << 8 | octets[3]!);
  }
  return words;
}

function ipv4Octets(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part))) return undefined;
  const octets = parts.map(Number);
  return octets.every((octet) => octet <= 255) ? octets : undefined;
}
