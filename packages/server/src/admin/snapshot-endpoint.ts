// GET /snapshot on the admin port: the backup file of `dlock snapshot save`, served by the leader
// to an admin. The node side (who may, which state) is a SnapshotSource; this file only speaks
// HTTP: the answer's status and the file's bytes, written with backpressure as they are dumped.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { BackupStream } from "../storage/backup-file.js";

export type SnapshotAnswer =
  | { status: 200; backup: BackupStream }
  | { status: 401 | 403 | 409 | 503; error: string; leader?: string | null };

export interface SnapshotSource {
  /** The backup of the state as of this call, or why not (credentials, not the leader). */
  save(credentials: { authToken: string | null }): Promise<SnapshotAnswer>;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(request: IncomingMessage): string | null {
  const header = request.headers.authorization;
  if (header === undefined) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export async function serveSnapshot(
  source: SnapshotSource,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const answer = await source.save({ authToken: bearerToken(request) });
  response.setHeader("cache-control", "no-store");
  if (answer.status !== 200) {
    response.statusCode = answer.status;
    response.setHeader("content-type", "application/json; charset=utf-8");
    if (answer.status === 401) response.setHeader("www-authenticate", "Bearer");
    response.end(JSON.stringify({ error: answer.error, leader: answer.leader ?? null }));
    return;
  }
  const { backup } = answer;
  try {
    response.statusCode = 200;
    response.setHeader("content-type", "application/octet-stream");
    response.setHeader("content-length", String(backup.byteLength));
    response.setHeader("x-dlock-snapshot-index", String(backup.header.index));
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    await backup.writeTo((bytes) => writeAll(response, bytes));
    response.end();
  } finally {
    await backup.close();
  }
}

function writeAll(response: ServerResponse, bytes: Uint8Array): Promise<void> {
  if (response.destroyed) return Promise.reject(new Error("the admin client went away"));
  if (response.write(bytes)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      response.off("drain", onDrain);
      response.off("close", onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onDrain = () => done();
    const onClose = () => done(new Error("the admin client went away"));
    response.once("drain", onDrain);
    response.once("close", onClose);
  });
}
