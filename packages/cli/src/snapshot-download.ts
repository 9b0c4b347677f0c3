// Downloads a backup from the leader's admin port (GET /snapshot) into a file: written to a
// temporary name beside it and renamed only once the whole body arrived, so FILE is either the
// previous one or a complete new one. The caller verifies the checksum before renaming.
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import type { IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { pipeline } from "node:stream/promises";

export interface DownloadOptions {
  /** Admin addresses (host:port) to ask in order; the leader's answers. */
  addresses: readonly string[];
  authToken: string | null;
  /** PEM of the CA of an admin port that serves HTTPS (--admin-tls on the servers), or null. */
  tlsCa: string | null;
  timeoutMs: number;
  /** Where the body goes (a temporary file the caller renames). */
  into: string;
}

export interface DownloadRefusal {
  address: string;
  status: number | null;
  reason: string;
}

/** The address that served the snapshot, or every refusal (none was the leader, or none answered). */
export async function downloadSnapshot(
  options: DownloadOptions,
): Promise<{ address: string } | { refusals: DownloadRefusal[] }> {
  const refusals: DownloadRefusal[] = [];
  for (const address of options.addresses) {
    let response: IncomingMessage;
    try {
      response = await get(address, options);
    } catch (error) {
      refusals.push({ address, status: null, reason: (error as Error).message });
      continue;
    }
    if (response.statusCode !== 200) {
      refusals.push({
        address,
        status: response.statusCode ?? null,
        reason: await errorText(response),
      });
      continue;
    }
    try {
      await pipeline(response, createWriteStream(options.into));
    } catch (error) {
      await rm(options.into, { force: true });
      refusals.push({ address, status: 200, reason: `download cut: ${(error as Error).message}` });
      continue;
    }
    return { address };
  }
  return { refusals };
}

function get(address: string, options: DownloadOptions): Promise<IncomingMessage> {
  const [host, port] = splitHostPort(address);
  const headers: Record<string, string> = {};
  if (options.authToken !== null) headers.authorization = `Bearer ${options.authToken}`;
  return new Promise((resolve, reject) => {
    const common = { host, port, path: "/snapshot", method: "GET", headers };
    const request =
      options.tlsCa === null
        ? httpRequest(common, resolve)
        : httpsRequest({ ...common, ca: options.tlsCa }, resolve);
    request.setTimeout(options.timeoutMs, () =>
      request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
    );
    request.once("error", reject);
    request.end();
  });
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, "$1");
  return [host, Number(address.slice(at + 1))];
}

async function errorText(response: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of response) {
    if (text.length < 4096) text += String(chunk);
  }
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === "string") return body.error;
  } catch {
    // not JSON: shown as it came
  }
  return text.trim() || `HTTP ${response.statusCode}`;
}
