// A framed input for tests that build one by hand: a clean hello and nothing else, with the
// fields a test is about given as overrides.
import type { FramedInput } from "../../src/wire-input.js";

export function framedInput<M>(overrides: Partial<FramedInput<M>> = {}): FramedInput<M> {
  return {
    prelude: null,
    hello: { variant: 0, mutations: [] },
    frames: [],
    flood: 0,
    faults: [],
    splits: [],
    deepBody: null,
    ...overrides,
  };
}
