/**
 * A new account password, read so it never passes through argv: in a terminal it is typed twice
 * without echo; otherwise it is the first line of standard input (`< password.txt`, a pipe). It is
 * checked with the server's own rules before anything is sent, and never printed.
 */
import { passwordProblem } from "../../accounts/password_rules.ts";
import type { CommandContext } from "../io.ts";
import { CommandFailure, UsageError } from "./common.ts";

/**
 * The new password for the account `who` (shown in the prompt), checked against the server's
 * rules for `username`. A person who cancels the prompt gets a {@link CommandFailure}; an empty,
 * weak or mistyped password is a {@link UsageError}.
 */
export async function readNewPassword(
  ctx: CommandContext,
  who: string,
  username?: string,
): Promise<string> {
  const { io } = ctx;
  if (!io.stdinIsTerminal()) {
    const [first = ""] = (await io.readStdin()).split(/\r?\n/, 1);
    if (first === "") {
      throw new UsageError([
        "No password on standard input: run this in a terminal to be asked for it, " +
        "or give it on the first line, e.g. < password.txt",
      ]);
    }
    return checkPassword(first, username);
  }
  const password = await io.readHiddenLine(`New password for ${who}: `);
  if (password === undefined) throw new CommandFailure("Cancelled: no password was given");
  checkPassword(password, username);
  const again = await io.readHiddenLine("Type it again: ");
  if (again === undefined) throw new CommandFailure("Cancelled: no password was given");
  if (again !== password) throw new UsageError(["The two passwords differ: nothing was changed"]);
  return password;
}

function checkPassword(password: string, username: string | undefined): string {
  const problem = passwordProblem(password, username);
  if (problem === undefined) return password;
  throw new UsageError([`Password: ${problem}`]);
}
