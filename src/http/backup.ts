/**
 * `/api/backup`: `POST /` streams a consistent snapshot of the embedded database as an SQLite file
 * (`src/service/backup.ts`), sealed by the server before it is sent (`src/server/backup_seal.ts`,
 * composed in `src/server.ts`) so restore refuses a changed copy; on PostgreSQL it answers 409
 * naming the pg_dump command. The file holds sealed secrets (never the master key), so it is never
 * cached.
 */
import { Hono } from "hono";
import { BACKUP_MEDIA_TYPE, backupFileName } from "../domain/backup.ts";
import { takeBackup } from "../service/backup.ts";
import type { AppEnv } from "./types.ts";

/** The backup route, to mount at `/api/backup`. */
export function backupRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().post("/", async (c) => {
    const backup = await takeBackup(c.var.services);
    return c.body(backup.body, 200, {
      "content-type": BACKUP_MEDIA_TYPE,
      "content-length": String(backup.size),
      "content-disposition": `attachment; filename="${backupFileName(backup.takenAt)}"`,
      "cache-control": "no-store",
    });
  });
}
