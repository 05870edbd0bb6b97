import { float64Column, grownColumn, int32Column, uint8Column } from './grown-column';

/**
 * How a server answered requests, remembered for a judgement at the end of the capture: one
 * entry per answer in typed-array columns, chained per list (e.g. per kind of request).
 *
 * Detectors that weigh every answer of a capture (intermittent-5xx keeps up to 256 for each of
 * 2 000 kinds of request) would otherwise hold an object per answer for the whole analysis:
 * hundreds of thousands of small objects, each copied by the garbage collector into the old
 * generation and traced again at every full collection. Columns hold numbers unboxed and are
 * never traced; only the client texts stay references (one per connection, shared).
 */

export interface Answer {
  flowId: number;
  /** Position of the exchange on its connection. */
  index: number;
  client: string;
  ts: number;
  frame: number;
  /** packedStatus: a status the snaplen cut keeps its class (unpackedStatus). */
  status: number;
  /** Response start − request end, or null when the request's end is unknown. */
  delay: number | null;
  failed: boolean;
}

/** The head and tail of one chain of answers (-1: empty). */
export interface AnswerList {
  first: number;
  last: number;
  length: number;
}

const INITIAL_CAPACITY = 1024;

export class AnswerLog {
  private capacity = INITIAL_CAPACITY;
  private size = 0;
  private flowId: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private index: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private ts: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private frame: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** NaN for none. */
  private delay: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private status: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private failed: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  /** Next entry of the same list, -1 at its end. */
  private next: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private client: string[] = [];

  static emptyList(): AnswerList {
    return { first: -1, last: -1, length: 0 };
  }

  /** Appends an answer to `list`. `delay` null: unknown. */
  add(list: AnswerList, flowId: number, index: number, client: string, ts: number, frame: number, status: number, delay: number | null, failed: boolean): void {
    if (this.size === this.capacity) this.grow();
    const e = this.size++;
    this.flowId[e] = flowId;
    this.index[e] = index;
    this.ts[e] = ts;
    this.frame[e] = frame;
    this.delay[e] = delay === null ? NaN : delay;
    this.status[e] = status;
    this.failed[e] = failed ? 1 : 0;
    this.next[e] = -1;
    this.client.push(client);
    if (list.last >= 0) this.next[list.last] = e;
    else list.first = e;
    list.last = e;
    list.length++;
  }

  /** The answers of a list as objects, in the order they were added (for the final judgement). */
  answers(list: AnswerList): Answer[] {
    const out: Answer[] = [];
    for (let e = list.first; e >= 0; e = this.next[e]) {
      const delay = this.delay[e];
      out.push({
        flowId: this.flowId[e],
        index: this.index[e],
        client: this.client[e],
        ts: this.ts[e],
        frame: this.frame[e],
        status: this.status[e],
        delay: Number.isNaN(delay) ? null : delay,
        failed: this.failed[e] === 1,
      });
    }
    return out;
  }

  /** Forgets every answer (the lists given out are stale after this). */
  clear(): void {
    this.size = 0;
    this.client = [];
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    this.flowId = grownColumn(this.flowId, capacity, float64Column);
    this.index = grownColumn(this.index, capacity, float64Column);
    this.ts = grownColumn(this.ts, capacity, float64Column);
    this.frame = grownColumn(this.frame, capacity, float64Column);
    this.delay = grownColumn(this.delay, capacity, float64Column);
    this.status = grownColumn(this.status, capacity, int32Column);
    this.failed = grownColumn(this.failed, capacity, uint8Column);
    this.next = grownColumn(this.next, capacity, int32Column);
    this.capacity = capacity;
  }
}
