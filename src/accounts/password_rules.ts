/**
 * What a new password must be: at least 12 characters and at most 1,024 UTF-16 code units (what
 * every login form and the JSON API take whole), not the username, and not one of the passwords
 * attackers try first. The embedded list is small on purpose — a minimum of 12 characters already
 * rules out most of any breach list — and is matched loosely: case is ignored, and so are digits
 * and punctuation around a listed word ("Password2024!" is "password"). A password built from a
 * short unit repeated ("abcabcabcabc") or from one run along the keyboard or the digits
 * ("1234567890qw" is fine, "qwertyuiopas" is not) is refused as well.
 */

/** Fewest characters a password may have (code points). */
export const MIN_PASSWORD_CHARS = 12;
/**
 * Longest a new password may be, in UTF-16 code units (JavaScript's `length`, what the JSON API
 * caps at): emoji and other characters beyond the BMP count as two.
 */
export const MAX_PASSWORD_LENGTH = 1_024;
/**
 * Longest a stored password can be, in UTF-16 code units: earlier versions took 1,024 code points,
 * each up to two units. A longer one cannot be right, so it is refused without being hashed.
 */
export const MAX_STORED_PASSWORD_LENGTH = 2 * MAX_PASSWORD_LENGTH;

// Words and phrases at the top of every breach list, and the ones a Nostr signer invites.
const COMMON = new Set([
  "password",
  "passw0rd",
  "p@ssword",
  "p@ssw0rd",
  "pass",
  "passwd",
  "secret",
  "letmein",
  "welcome",
  "admin",
  "administrator",
  "root",
  "login",
  "user",
  "guest",
  "test",
  "default",
  "changeme",
  "qwerty",
  "azerty",
  "qwertz",
  "iloveyou",
  "loveyou",
  "trustno",
  "trustnoone",
  "monkey",
  "dragon",
  "master",
  "shadow",
  "sunshine",
  "princess",
  "football",
  "baseball",
  "soccer",
  "hockey",
  "superman",
  "batman",
  "starwars",
  "pokemon",
  "michael",
  "jennifer",
  "jordan",
  "charlie",
  "freedom",
  "whatever",
  "computer",
  "internet",
  "samsung",
  "google",
  "apple",
  "summer",
  "winter",
  "spring",
  "autumn",
  "flower",
  "hello",
  "helloworld",
  "cheese",
  "chocolate",
  "ashley",
  "nicole",
  "daniel",
  "thomas",
  "killer",
  "hunter",
  "ranger",
  "buster",
  "tigger",
  "maggie",
  "ginger",
  "pepper",
  "cookie",
  "matrix",
  "mustang",
  "access",
  "zaq",
  "qazwsx",
  "abc",
  "abcdef",
  "abcdefgh",
  "asdf",
  "asdfgh",
  "zxcvbn",
  "nostr",
  "nostrich",
  "bitcoin",
  "satoshi",
  "nakamoto",
  "lightning",
  "zap",
  "keycast",
  "bunker",
  "signer",
  "privatekey",
  "nsec",
  "correcthorsebatterystaple",
  "thequickbrownfox",
  "opensesame",
  "mypassword",
  "yourpassword",
  "newpassword",
  "oldpassword",
  "temppassword",
  "iloveu",
]);

// Runs along the keyboard (row after row, or column after column), the digits and the alphabet,
// forwards; backwards is checked by reversing.
const RUNS = [
  "1234567890",
  "qwertyuiopasdfghjklzxcvbnm",
  "abcdefghijklmnopqrstuvwxyz",
  "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
];

/**
 * The problem with `password` as a new password for `username`, as a sentence for the person
 * choosing it; `undefined` when it is acceptable.
 */
export function passwordProblem(password: string, username?: string): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_CHARS) {
    return `Use at least ${MIN_PASSWORD_CHARS} characters (this one has ${length})`;
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    return `Use at most ${MAX_PASSWORD_LENGTH} characters (emoji and some rare symbols count as two)`;
  }
  const lower = password.toLowerCase();
  if (username && lower.includes(username.toLowerCase()) && username.length >= 3) {
    return "Do not use your username in your password";
  }
  if (isCommon(lower)) return "This password is among the first ones attackers try: choose another";
  if (isRepeated(lower)) return "This password repeats a short pattern: choose another";
  if (isRun(lower)) return "This password is a run of keys or digits: choose another";
  return undefined;
}

/** Listed, once digits and punctuation around it are removed, or two listed words joined. */
function isCommon(lower: string): boolean {
  const core = lower.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, "");
  if (core.length === 0) return false;
  if (COMMON.has(core)) return true;
  for (let cut = 1; cut < core.length; cut++) {
    const head = core.slice(0, cut).replace(/[^\p{L}]+$/u, "");
    const tail = core.slice(cut).replace(/^[^\p{L}]+/u, "");
    if (COMMON.has(head) && COMMON.has(tail)) return true;
  }
  return false;
}

/** Made of one unit of at most four characters, repeated. */
function isRepeated(lower: string): boolean {
  const chars = [...lower];
  for (let unit = 1; unit <= 4; unit++) {
    if (chars.every((char, i) => char === chars[i % unit])) return true;
  }
  return false;
}

/** A stretch of one keyboard row or of the digits (either way, wrapping round). */
function isRun(lower: string): boolean {
  for (const run of RUNS) {
    for (const line of [run, [...run].reverse().join("")]) {
      const wrapped = line.repeat(Math.ceil(lower.length / line.length) + 1);
      if (wrapped.includes(lower)) return true;
    }
  }
  return false;
}
