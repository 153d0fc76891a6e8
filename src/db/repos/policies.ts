/** The `policies` table: named JSON documents of rules. */
import type { Queryable } from "../db.ts";

/** A stored policy. */
export interface PolicyRecord {
  id: string;
  name: string;
  /** The policy document (a JSON object; validated by src/policy before it is stored). */
  rules: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

interface PolicyRow extends Record<string, unknown> {
  id: string;
  name: string;
  rules: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = "id::text, name, rules, created_at, updated_at";

/** Reads and writes policies. */
export class PoliciesRepo {
  constructor(private readonly db: Queryable) {}

  /** Stores a policy; a duplicate name raises `UniqueViolationError`. */
  async create(
    policy: { id: string; name: string; rules: Record<string, unknown> },
  ): Promise<PolicyRecord> {
    const [row] = await this.db.query<PolicyRow>(
      `insert into policies (id, name, rules) values ($1::uuid, $2, $3::text::jsonb)
       returning ${COLUMNS}`,
      [policy.id, policy.name, JSON.stringify(policy.rules)],
    );
    return toRecord(row!);
  }

  /** Every policy by name. */
  async list(): Promise<PolicyRecord[]> {
    const rows = await this.db.query<PolicyRow>(`select ${COLUMNS} from policies order by name`);
    return rows.map(toRecord);
  }

  /** The policy with this name, if any. */
  async getByName(name: string): Promise<PolicyRecord | undefined> {
    const [row] = await this.db.query<PolicyRow>(
      `select ${COLUMNS} from policies where name = $1`,
      [
        name,
      ],
    );
    return row && toRecord(row);
  }

  /** Replaces the rules of a named policy; undefined when there is none. */
  async updateRules(
    name: string,
    rules: Record<string, unknown>,
  ): Promise<PolicyRecord | undefined> {
    const [row] = await this.db.query<PolicyRow>(
      `update policies set rules = $2::text::jsonb, updated_at = now() where name = $1
       returning ${COLUMNS}`,
      [name, JSON.stringify(rules)],
    );
    return row && toRecord(row);
  }

  /**
   * Deletes a named policy and reports whether it existed. A policy still used by an
   * authorization raises `ForeignKeyViolationError`.
   */
  async delete(name: string): Promise<boolean> {
    const rows = await this.db.query("delete from policies where name = $1 returning id", [name]);
    return rows.length > 0;
  }
}

function toRecord(row: PolicyRow): PolicyRecord {
  return {
    id: row.id,
    name: row.name,
    rules: row.rules,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
