/** Fault settings with a delay range [delayMsMin, delayMsMax], as both simulated networks take. */
export interface DelayRange {
  delayMsMin: number;
  delayMsMax: number;
}

/** What a network's faults hold beyond the delay range: probabilities and further delay bounds. */
export interface FaultKeys<F> {
  /** Named in the delay-range error ("delays", "client link delays"). */
  delays: string;
  /** Probabilities, each in [0, 1]. */
  rates: readonly (keyof F & string)[];
  /** Upper bounds of extra delays, each ≥ 0. */
  delayBounds: readonly (keyof F & string)[];
}

/** A validator for one network's faults: throws a RangeError naming the first bad field. */
export function faultValidator<F extends DelayRange>(keys: FaultKeys<F>): (faults: F) => F {
  return (faults) => {
    for (const key of keys.rates) {
      const value = faults[key] as number;
      if (!(value >= 0 && value <= 1))
        throw new RangeError(`${key} must be in [0, 1], got ${value}`);
    }
    if (!(faults.delayMsMin >= 0 && faults.delayMsMax >= faults.delayMsMin)) {
      throw new RangeError(`${keys.delays} must satisfy 0 ≤ delayMsMin ≤ delayMsMax`);
    }
    for (const key of keys.delayBounds) {
      if (!((faults[key] as number) >= 0)) throw new RangeError(`${key} must be ≥ 0`);
    }
    return faults;
  };
}

/**
 * The fault settings of a simulated network: validated whenever they change, copied in and out so
 * that a caller never holds the live object the network reads on its hot path.
 */
export abstract class FaultyNetwork<F extends DelayRange> {
  protected faults: F;
  private readonly validate: (faults: F) => F;

  protected constructor(
    faults: F,
    private readonly keys: FaultKeys<F>,
  ) {
    this.validate = faultValidator(keys);
    this.faults = this.validate({ ...faults });
  }

  /** Faults are over: every probability drops to 0 (delays stay as they are). */
  calm(): void {
    const zeros = Object.fromEntries(this.keys.rates.map((key) => [key, 0]));
    this.faults = { ...this.faults, ...zeros };
  }

  setFaults(faults: F): void {
    this.faults = this.validate({ ...faults });
  }

  getFaults(): F {
    return { ...this.faults };
  }
}
