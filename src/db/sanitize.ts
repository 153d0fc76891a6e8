/**
 * The one boundary every text crosses on its way into the database. Whatever a client, a relay or
 * an admin sent, what is stored has no NUL (PostgreSQL refuses it outright, and a refused audit
 * batch used to stop the audit log), no other C0 or C1 control character but tab, newline and
 * carriage return, and no lone UTF-16 surrogate: NUL is removed, the others become U+FFFD.
 *
 * Applied twice, with the same rule: to every string bound to a statement (the kysely plugin
 * {@link SanitizeTextPlugin}, installed on both engines), and to the strings inside JSON documents
 * before they are serialized ({@link sanitizeJson}), because `JSON.stringify` turns a NUL into the
 * escape `\u0000`, which PostgreSQL's JSON parser refuses as well. Lengths are each field's
 * business and capped where the field is defined.
 */
import {
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type PrimitiveValueListNode,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  type ValueNode,
} from "kysely";

// NUL; other C0 controls but \t \n \r; DEL and the C1 controls; lone surrogates.
const UNSAFE =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` without NUL, with other unsafe characters (see the module doc) replaced by U+FFFD. */
export function sanitizeText(text: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE, (char) => char === "\u0000" ? "" : "\ufffd");
}

/** A copy of a JSON value with {@link sanitizeText} applied to every string, keys included. */
export function sanitizeJson(value: unknown): unknown {
  if (typeof value === "string") return sanitizeText(value);
  if (Array.isArray(value)) return value.map(sanitizeJson);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[sanitizeText(key)] = sanitizeJson(item);
    return out;
  }
  return value;
}

/** JSON text of `value` after {@link sanitizeJson}. */
export function safeJsonStringify(value: unknown): string {
  return JSON.stringify(sanitizeJson(value));
}

/** A kysely plugin that applies {@link sanitizeText} to every string parameter of a statement. */
export class SanitizeTextPlugin implements KyselyPlugin {
  readonly #transformer = new SanitizingTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

class SanitizingTransformer extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    const value = node.value;
    return typeof value === "string" ? { ...node, value: sanitizeText(value) } : node;
  }

  protected override transformPrimitiveValueList(
    node: PrimitiveValueListNode,
  ): PrimitiveValueListNode {
    return {
      ...node,
      values: node.values.map((value) => typeof value === "string" ? sanitizeText(value) : value),
    };
  }
}
