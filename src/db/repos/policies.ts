/** The `policies` table: named JSON documents of rules. */
import type { Selectable } from "kysely";
import type { Db } from "../db.ts";
import { jsonObject, type PoliciesTable, toDate } from "../schema.ts";

/** A stored policy. */
export interface PolicyRecord {
  id: string;
  name: string;
  /** The policy document (a JSON object; validated by src/policy before it is stored). */
  rules: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

/** Reads and writes policies. */
export class PoliciesRepo {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** Stores a policy; a duplicate name raises `UniqueViolationError`. */
  async create(
    policy: { id: string; name: string; rules: Record<string, unknown> },
  ): Promise<PolicyRecord> {
    const at = new Date(this.now());
    const row = await this.db.kysely.insertInto("policies")
      .values({
        id: policy.id,
        name: policy.name,
        rules: this.db.json(policy.rules),
        created_at: at,
        updated_at: at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }

  /** Every policy by name. */
  async list(): Promise<PolicyRecord[]> {
    const rows = await this.db.kysely.selectFrom("policies").selectAll().orderBy("name")
      .execute();
    return rows.map(toRecord);
  }

  /** The policy with this name, if any. */
  async getByName(name: string): Promise<PolicyRecord | undefined> {
    const row = await this.db.kysely.selectFrom("policies").selectAll()
      .where("name", "=", name).executeTakeFirst();
    return row && toRecord(row);
  }

  /** Replaces the rules of a named policy; undefined when there is none. */
  async updateRules(
    name: string,
    rules: Record<string, unknown>,
  ): Promise<PolicyRecord | undefined> {
    const row = await this.db.kysely.updateTable("policies")
      .set({ rules: this.db.json(rules), updated_at: new Date(this.now()) })
      .where("name", "=", name)
      .returningAll()
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /**
   * Deletes a named policy and reports whether it existed. A policy still used by an
   * authorization raises `ForeignKeyViolationError`.
   */
  async delete(name: string): Promise<boolean> {
    const row = await this.db.kysely.deleteFrom("policies").where("name", "=", name)
      .returning("id").executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Deletes a named policy unless a live (not revoked) authorization uses it, in one transaction
   * that holds the policy row: revoked authorizations that used it are detached first (their
   * `policy_id` becomes null, so they show no policy from then on). `in-use` changes nothing.
   */
  deleteDetachingRevoked(name: string): Promise<"deleted" | "missing" | "in-use"> {
    return this.db.transaction(async (tx) => {
      const policy = await tx.selectFrom("policies").select("id").where("name", "=", name)
        .$if(this.db.kind === "postgres", (q) => q.forUpdate())
        .executeTakeFirst();
      if (!policy) return "missing";
      const live = await tx.selectFrom("authorizations").select("id")
        .where("policy_id", "=", policy.id).where("revoked_at", "is", null)
        .limit(1).executeTakeFirst();
      if (live) return "in-use";
      await tx.updateTable("authorizations").set({ policy_id: null })
        .where("policy_id", "=", policy.id).where("revoked_at", "is not", null).execute();
      await tx.deleteFrom("policies").where("id", "=", policy.id).execute();
      return "deleted";
    });
  }
}

function toRecord(row: Selectable<PoliciesTable>): PolicyRecord {
  return {
    id: row.id,
    name: row.name,
    rules: jsonObject(row.rules),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}
