import { describe, expect, it } from "vitest";
import { allows, scopeCovers } from "../../src/auth/grants.js";
import type { Operation, Principal } from "../../src/auth/grants.js";

const principal = (name: string, ...grants: Array<[Principal["grants"][number]["role"], string]>) =>
  ({ name, grants: grants.map(([role, scope]) => ({ role, scope })) }) satisfies Principal;

const LOCK_OPERATIONS: Operation[] = ["acquire", "refresh", "release", "cancel", "get"];
const ADMIN_OPERATIONS: Operation[] = [
  "addMember",
  "promoteMember",
  "removeMember",
  "forceRelease",
];

describe("scopeCovers", () => {
  it("matches * everything, prefix* by prefix, anything else exactly", () => {
    expect(scopeCovers("*", "billing/x")).toBe(true);
    expect(scopeCovers("jobs/*", "jobs/a")).toBe(true);
    expect(scopeCovers("jobs/*", "jobs/")).toBe(true);
    expect(scopeCovers("jobs/*", "jobs")).toBe(false);
    expect(scopeCovers("jobs/*", "billing/jobs/a")).toBe(false);
    expect(scopeCovers("jobs/*", "Jobs/a")).toBe(false);
    expect(scopeCovers("deploy", "deploy")).toBe(true);
    expect(scopeCovers("deploy", "deploy2")).toBe(false);
  });
});

describe("allows", () => {
  it("gives lock every lock operation on its prefixes only", () => {
    const ci = principal("ci", ["lock", "jobs/*"]);
    for (const op of LOCK_OPERATIONS) {
      expect(allows(ci, op, "jobs/nightly")).toBe(true);
      expect(allows(ci, op, "billing/run")).toBe(false);
    }
    for (const op of ADMIN_OPERATIONS)
      expect(allows(ci, op, op === "forceRelease" ? "jobs/a" : null)).toBe(false);
    expect(allows(ci, "status", null)).toBe(true);
    expect(allows(ci, "members", null)).toBe(true);
  });

  it("gives read get only", () => {
    const dashboard = principal("dashboard", ["read", "*"]);
    expect(allows(dashboard, "get", "billing/run")).toBe(true);
    for (const op of ["acquire", "refresh", "release", "cancel"] as const) {
      expect(allows(dashboard, op, "billing/run")).toBe(false);
    }
    for (const op of ADMIN_OPERATIONS) expect(allows(dashboard, op, null)).toBe(false);
  });

  it("adds up several grants", () => {
    const both = principal("both", ["lock", "jobs/*"], ["read", "billing/*"]);
    expect(allows(both, "acquire", "jobs/a")).toBe(true);
    expect(allows(both, "get", "billing/a")).toBe(true);
    expect(allows(both, "acquire", "billing/a")).toBe(false);
    expect(allows(both, "get", "other")).toBe(false);
  });

  it("gives admin everything on every key", () => {
    const ops = principal("ops", ["admin", "*"]);
    for (const op of [...LOCK_OPERATIONS, ...ADMIN_OPERATIONS]) {
      expect(allows(ops, op, "anything")).toBe(true);
    }
    expect(allows(ops, "removeMember", null)).toBe(true);
  });

  it("gives a principal without grants nothing but status and members", () => {
    const nobody = principal("nobody");
    for (const op of [...LOCK_OPERATIONS, ...ADMIN_OPERATIONS]) {
      expect(allows(nobody, op, "k")).toBe(false);
    }
    expect(allows(nobody, "status", null)).toBe(true);
  });
});
