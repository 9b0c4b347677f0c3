import { expect } from "vitest";
import { InvalidArgumentError } from "../../src/index.js";

/** The `field` of the InvalidArgumentError that `run` throws; fails the test if it throws nothing else. */
export function fieldOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return (error as InvalidArgumentError).field;
  }
  throw new Error("expected an InvalidArgumentError");
}
