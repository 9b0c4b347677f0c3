import type { ProcessStatus, SimProcess } from "../../src/lock/sim-process.js";

/** A process whose status the test sets by hand. */
export class FakeProcess implements SimProcess {
  status: ProcessStatus = "running";
  incarnation = 1;
  deferred: (() => void)[] = [];
  constructor(readonly name: string) {}
  defer(work: () => void): void {
    this.deferred.push(work);
  }
  resume(): void {
    this.status = "running";
    const work = this.deferred;
    this.deferred = [];
    for (const run of work) run();
  }
}
