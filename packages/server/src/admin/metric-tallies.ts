// Counters and histograms for the per-request and per-frame paths, kept as plain numbers and handed
// to prom-client only at scrape time. prom-client's inc/observe hash and validate the label object
// and look a bucket up by its bound's decimal string on every call: about 2% of a busy node's CPU
// at one call per client request, Raft frame and fsync. A tally costs a few additions; a scrape
// renders exactly what prom-client would have rendered had it been called each time.
import { Counter } from "prom-client";
import type { Metric, Registry } from "prom-client";

/** One labelled series of a TalliedCounter: callers hold it and add to `value`. */
export interface CounterTally {
  value: number;
}

/** One labelled series of a TalliedHistogram. */
export class HistogramTally {
  /** Observations per bucket (not cumulative); observations above the last bound are only in count. */
  readonly bucketCounts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Record<string, string>,
  ) {
    this.bucketCounts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.bucketCounts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

interface MetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
}

/** Series are keyed by their label values in labelNames order, joined with NUL. */
function seriesKey(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : values.join("\u0000");
}

function labelsOf<L extends string>(
  names: readonly L[],
  values: readonly string[],
): Record<L, string> {
  if (values.length !== names.length) {
    throw new Error(
      `expected ${names.length} label values (${names.join(", ")}), got ${values.length}`,
    );
  }
  const labels = {} as Record<L, string>;
  names.forEach((name, i) => (labels[name] = values[i]!));
  return labels;
}

/** A prom-client Counter whose series are tallies, copied into it when the registry is scraped. */
export class TalliedCounter<L extends string> {
  private readonly series = new Map<string, { labels: Record<L, string>; tally: CounterTally }>();
  private readonly labelNames: readonly L[];

  constructor(config: MetricConfig<L>) {
    this.labelNames = config.labelNames;
    const series = this.series;
    new Counter<L>({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames,
      registers: config.registers,
      collect() {
        this.reset();
        for (const { labels, tally } of series.values()) this.inc(labels, tally.value);
      },
    });
  }

  /** The series of these label values (in labelNames order), created at 0 on first use. */
  tally(...values: string[]): CounterTally {
    const key = seriesKey(values);
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { labels: labelsOf(this.labelNames, values), tally: { value: 0 } };
      this.series.set(key, entry);
    }
    return entry.tally;
  }
}

/**
 * A histogram registered with a prom-client Registry as a metric of its own: prom-client has no API
 * to set a histogram's buckets, so this renders the values its Histogram renders (same series, same
 * order, same labels), which the tests compare line by line.
 */
export class TalliedHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly labelNames: readonly L[];
  private readonly bounds: readonly number[];
  private series = new Map<string, HistogramTally>();

  constructor(config: MetricConfig<L> & { buckets: readonly number[] }) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.bounds = [...config.buckets];
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
    // An unlabelled histogram shows its one series from the start, as prom-client's does.
    if (config.labelNames.length === 0) this.tally();
  }

  /** The series of these label values (in labelNames order), created empty on first use. */
  tally(...values: string[]): HistogramTally {
    const key = seriesKey(values);
    let tally = this.series.get(key);
    if (tally === undefined) {
      tally = new HistogramTally(this.bounds, labelsOf(this.labelNames, values));
      this.series.set(key, tally);
    }
    return tally;
  }

  reset(): void {
    this.series = new Map();
    if (this.labelNames.length === 0) this.tally();
  }

  /** What the registry renders (prom-client's Histogram.getForPromString shape). */
  getForPromString(): Promise<{
    name: string;
    help: string;
    type: string;
    values: PromValue[];
    aggregator: string;
  }> {
    const values: PromValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const tally of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += tally.bucketCounts[i]!;
        values.push(value({ le: this.bounds[i]! }, cumulative, bucketName, tally.labels, null));
      }
      values.push(value({ le: "+Inf" }, tally.count, bucketName, tally.labels, null));
      values.push(value({}, tally.sum, `${this.name}_sum`, tally.labels, undefined));
      values.push(value({}, tally.count, `${this.name}_count`, tally.labels, undefined));
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }

  /** The JSON form (labels and shared labels merged), as prom-client's Histogram.get(). */
  async get(): Promise<object> {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ labels, sharedLabels, ...rest }) => ({
        ...rest,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }
}

interface PromValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
  exemplar: null | undefined;
}

function value(
  labels: Record<string, string | number>,
  count: number,
  metricName: string,
  sharedLabels: Record<string, string>,
  exemplar: null | undefined,
): PromValue {
  return { labels, sharedLabels, value: count, metricName, exemplar };
}
