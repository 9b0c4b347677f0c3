import { expect } from "vitest";
import { ConfigError, InvalidArgumentError } from "../src/index.js";

/** The ConfigError `run` throws (failing the test if it throws nothing or something else). */
export function configRefusal(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    // Client code that catches InvalidArgumentError sees config errors too.
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return error as ConfigError;
  }
  throw new Error("did not throw");
}
