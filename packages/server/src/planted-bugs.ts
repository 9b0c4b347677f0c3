// Deliberate bugs that the simulator's tests switch on to prove its checkers catch them. Each
// component's bugs travel on its options object under a symbol that only its channel holds: the
// public option types have no field for them and they are reachable only through
// @dlock/server/internal. Never set in production.

/** A component's bug flags, each documented where the channel lists it. */
export type PlantedBugFlags = Readonly<Record<string, true>>;

/** Which of a channel's bugs to plant; every flag defaults to false. */
export type PlantedBugs<Flags extends PlantedBugFlags> = { -readonly [K in keyof Flags]?: boolean };

/** How one component's planted bugs get onto its options and back off. */
export interface PlantedBugChannel<Flags extends PlantedBugFlags> {
  /** A copy of the options carrying `bugs` (undefined: a plain copy). */
  with<T extends object>(options: T, bugs: PlantedBugs<Flags> | undefined): T;
  /** The bugs the options carry, every flag filled in (all false for options without bugs). */
  of(options: object): Required<PlantedBugs<Flags>>;
}

/** The bugs a channel carries, as the type its users set. */
export type PlantedBugsOf<Channel> =
  Channel extends PlantedBugChannel<infer Flags> ? PlantedBugs<Flags> : never;

/** A channel for the bugs named by `flags`' keys; `name` labels the symbol for debugging. */
export function plantedBugChannel<const Flags extends PlantedBugFlags>(
  name: string,
  flags: Flags,
): PlantedBugChannel<Flags> {
  const key = Symbol(name);
  const names = Object.keys(flags) as (keyof Flags)[];
  return {
    with: (options, bugs) =>
      bugs === undefined ? { ...options } : { ...options, [key]: { ...bugs } },
    of: (options) => {
      const bugs = (options as { [key]?: PlantedBugs<Flags> })[key];
      const filled = {} as Record<keyof Flags, boolean>;
      for (const flag of names) filled[flag] = bugs?.[flag] === true;
      return filled as Required<PlantedBugs<Flags>>;
    },
  };
}
