/**
 * Adaptive concurrency for the model clients: how many requests one client keeps in flight. It is
 * the configured `maxConcurrency` until the provider refuses (a 429, or rate-limit headers that
 * say its window is spent), and it climbs back to it as requests succeed.
 *
 * No npm package does this (checked: bottleneck, p-queue, p-limit, cockatiel, limiter, p-throttle
 * all take a fixed bound or a fixed rate; none reads 429s or rate-limit headers), so it is here,
 * small and deterministic: the clock is injectable and nothing in it reads the wall clock directly.
 */

/** The clock the limiter waits on; tests give a fake one. */
export interface LimiterClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const SYSTEM_CLOCK: LimiterClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** What one answer said about the provider's limits (see `readRateLimitHeaders`). */
export interface RateLimitSignal {
  status: number;
  /** The wait the server asked for (`retry-after-ms`, else `retry-after`), in milliseconds. */
  retryAfterMs?: number;
  /** Requests a full window allows (`x-ratelimit-limit-requests`). */
  limitRequests?: number;
  /** Tokens a full window allows (`x-ratelimit-limit-tokens`). */
  limitTokens?: number;
  /** Requests left in the provider's current window (`x-ratelimit-remaining-requests`). */
  remainingRequests?: number;
  /** Tokens left in the current window (`x-ratelimit-remaining-tokens`). */
  remainingTokens?: number;
  /** Milliseconds until the request window refills (`x-ratelimit-reset-requests`). */
  resetRequestsMs?: number;
  /** Milliseconds until the token window refills (`x-ratelimit-reset-tokens`). */
  resetTokensMs?: number;
}

/**
 * Reads OpenAI's rate-limit headers (also sent by Azure OpenAI, Groq, OpenRouter, LiteLLM and
 * vLLM's router): `retry-after-ms`, `retry-after` (seconds or an HTTP date),
 * `x-ratelimit-limit-requests|tokens`, `x-ratelimit-remaining-requests|tokens` and
 * `x-ratelimit-reset-requests|tokens` (a duration as
 * OpenAI writes it, "1s", "6m0s", "120ms", or plain seconds).
 */
export function readRateLimitHeaders(
  status: number,
  headers: Headers,
  now: number = Date.now(),
): RateLimitSignal {
  const signal: RateLimitSignal = { status };
  const retryAfterMs =
    numberOf(headers.get("retry-after-ms")) ?? retryAfter(headers.get("retry-after"), now);
  if (retryAfterMs !== undefined) signal.retryAfterMs = retryAfterMs;
  const limitRequests = numberOf(headers.get("x-ratelimit-limit-requests"));
  if (limitRequests !== undefined) signal.limitRequests = limitRequests;
  const limitTokens = numberOf(headers.get("x-ratelimit-limit-tokens"));
  if (limitTokens !== undefined) signal.limitTokens = limitTokens;
  const remainingRequests = numberOf(headers.get("x-ratelimit-remaining-requests"));
  if (remainingRequests !== undefined) signal.remainingRequests = remainingRequests;
  const remainingTokens = numberOf(headers.get("x-ratelimit-remaining-tokens"));
  if (remainingTokens !== undefined) signal.remainingTokens = remainingTokens;
  const resetRequestsMs = parseDuration(headers.get("x-ratelimit-reset-requests"));
  if (resetRequestsMs !== undefined) signal.resetRequestsMs = resetRequestsMs;
  const resetTokensMs = parseDuration(headers.get("x-ratelimit-reset-tokens"));
  if (resetTokensMs !== undefined) signal.resetTokensMs = resetTokensMs;
  return signal;
}

/** A duration as OpenAI's reset headers write it ("1s", "6m0s", "1h2m3.5s", "120ms", "0.5"). */
export function parseDuration(text: string | null | undefined): number | undefined {
  if (text == null || !text.trim()) return undefined;
  const plain = numberOf(text);
  if (plain !== undefined) return plain * 1000;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  let total = 0;
  let rest = text.trim();
  while (rest) {
    const match = /^(\d+(?:\.\d+)?)(ms|us|h|m|s)/.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * units[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return total;
}

function numberOf(text: string | null | undefined): number | undefined {
  if (text == null || !text.trim()) return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

function retryAfter(text: string | null, now: number): number | undefined {
  const seconds = numberOf(text);
  if (seconds !== undefined) return seconds * 1000;
  if (!text) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A place in flight: report what the answer said, and release it once its body is read. */
export interface Permit {
  /** Tells the limiter what the answer's status and headers said (once, when they arrive). */
  report: (signal: RateLimitSignal) => void;
  /** Frees the place (idempotent). */
  release: () => void;
}

/** Options of `AdaptiveConcurrencyLimiter`. */
export interface AdaptiveConcurrencyOptions {
  /** The most requests in flight at once: what the limiter starts at and climbs back to. */
  maxConcurrency: number;
  clock?: LimiterClock;
}

/** What the limiter knows now (the benchmark and tests read it). */
export interface LimiterStats {
  limit: number;
  inFlight: number;
  waiting: number;
  /** Most requests in flight at once so far. */
  maxInFlight: number;
  /** 429s reported so far. */
  rateLimited: number;
}

interface Waiter {
  cost: number;
  grant: (permit: Permit) => void;
  fail: (error: unknown) => void;
  signal?: AbortSignal;
  leave?: () => void;
}

/**
 * A budget the provider announced: `remaining` more (requests or tokens) until `resetAt`, when it
 * refills to `full` (the window's limit, when the provider says it) for another `windowMs`.
 */
interface Budget {
  remaining: number;
  resetAt: number;
  full?: number;
  /** The longest reset seen: the window's length, as far as the answers tell. */
  windowMs: number;
}

/** The budget now: refilled when its reset has passed and its size is known, else forgotten. */
function current(budget: Budget | undefined, now: number): Budget | undefined {
  if (!budget || now < budget.resetAt) return budget;
  if (budget.full === undefined || budget.windowMs <= 0) return undefined;
  const windows = Math.floor((now - budget.resetAt) / budget.windowMs) + 1;
  budget.remaining = budget.full;
  budget.resetAt += windows * budget.windowMs;
  return budget;
}

/** The budget an answer announced, keeping the window length learned so far. */
function announced(
  previous: Budget | undefined,
  remaining: number | undefined,
  resetMs: number | undefined,
  full: number | undefined,
  now: number,
): Budget | undefined {
  if (remaining === undefined || resetMs === undefined) return previous;
  return {
    remaining,
    resetAt: now + resetMs,
    full: full ?? previous?.full,
    windowMs: Math.max(resetMs, previous?.windowMs ?? 0),
  };
}

/** Most rounds of successes asked for before probing a limit that was refused before. */
const MAX_PROBE_ROUNDS = 16;

/**
 * Bounds the requests one model client has in flight: the configured `maxConcurrency`, lowered
 * only when the provider refuses, and raised back as requests succeed:
 *
 * 1. It starts at `maxConcurrency`: the user's bound is in flight from the first round trip.
 *    Successes and slow answers never lower it.
 * 2. A 429 that does not say when to come back means "too many at once": the limit drops to the
 *    requests still in flight (and by at least one), so a burst of refusals (the first round trip
 *    at a bound the provider does not take) settles within that round trip on what it accepted.
 * 3. An answer whose `x-ratelimit-remaining-requests` or `-tokens`, less what was sent after it,
 *    cannot pay for another request like it says the window is spent: the limit halves, but not
 *    below the requests in flight (what the window carried), and once per round trip (answers to
 *    requests sent before the cut say nothing new). A window that refills to an unknown size then
 *    gets what the last one carried, not a burst at the bound.
 * 4. Below `maxConcurrency`, it grows by one after a round of successes (`limit` of them) while
 *    requests wait, up to `maxConcurrency`; a step refused again by a 429 doubles the rounds the
 *    next one waits for (at most 16), so a provider's hard limit costs few 429s, and a step that
 *    holds halves them.
 * 5. A 429 with `retry-after` (or a reset header) holds every new request until then, without the
 *    drop of step 2: the provider's window is full, not its capacity (its headers may still say
 *    the window is spent, step 3).
 * 6. `x-ratelimit-remaining-requests` and `-tokens` are budgets until their reset: each request
 *    started spends one request and its estimated tokens, and when the budget cannot pay for the
 *    next one, it waits for the reset instead of being refused. At the reset the budget refills to
 *    `x-ratelimit-limit-*` (when sent) for another window, so the line does not burst into it.
 *
 * Waiting requests are served in order; one retried after a 429 goes to the front.
 */
export class AdaptiveConcurrencyLimiter {
  readonly maxConcurrency: number;
  private readonly clock: LimiterClock;
  /** The requests allowed in flight now (`limit`). */
  private window: number;
  private inFlight = 0;
  private maxInFlight = 0;
  private rateLimited = 0;
  private readonly line: Waiter[] = [];
  private pausedUntil = 0;
  private timer: { handle: unknown; at: number } | undefined;
  private successes = 0;
  private probeRounds = 1;
  /** True after an increase, until a round at the new limit succeeds or is refused. */
  private probing = false;
  /** The last request started when a spent window last cut the limit (step 3). */
  private cutAfter = 0;
  private requestBudget: Budget | undefined;
  private tokenBudget: Budget | undefined;
  /** Requests in flight, by start order, with their estimated tokens. */
  private readonly started = new Map<number, number>();
  private sequence = 0;

  constructor(options: AdaptiveConcurrencyOptions) {
    if (!(options.maxConcurrency >= 1)) throw new RangeError("maxConcurrency must be at least 1");
    this.maxConcurrency = Math.floor(options.maxConcurrency);
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.window = this.maxConcurrency;
  }

  /** The requests allowed in flight now. */
  get limit(): number {
    return this.window;
  }

  stats(): LimiterStats {
    return {
      limit: this.limit,
      inFlight: this.inFlight,
      waiting: this.line.length,
      maxInFlight: this.maxInFlight,
      rateLimited: this.rateLimited,
    };
  }

  /**
   * Waits for a place in flight. `cost` is the request's estimated tokens (spent from a token
   * budget the provider announced); `front` puts a retried request first in line. Rejects with
   * the signal's reason when it aborts while waiting.
   */
  acquire(options: { cost?: number; signal?: AbortSignal; front?: boolean } = {}): Promise<Permit> {
    const { signal } = options;
    signal?.throwIfAborted();
    return new Promise<Permit>((grant, fail) => {
      const waiter: Waiter = { cost: options.cost ?? 0, grant, fail, signal };
      if (signal) {
        waiter.leave = () => {
          const index = this.line.indexOf(waiter);
          if (index >= 0) this.line.splice(index, 1);
          fail(abortReason(signal));
          this.drain();
        };
        signal.addEventListener("abort", waiter.leave, { once: true });
      }
      if (options.front) this.line.unshift(waiter);
      else this.line.push(waiter);
      this.drain();
    });
  }

  /** Starts waiting requests while the limit, the pause and the budgets allow. */
  private drain(): void {
    while (this.line.length > 0 && this.inFlight < this.limit) {
      const now = this.clock.now();
      const head = this.line[0]!;
      const until = this.blockedUntil(head.cost, now);
      if (until > now) {
        this.wakeAt(until);
        return;
      }
      this.line.shift();
      if (head.signal && head.leave) head.signal.removeEventListener("abort", head.leave);
      this.start(head);
    }
  }

  /** When the head of the line may start: now, or the end of a pause or an exhausted budget. */
  private blockedUntil(cost: number, now: number): number {
    let until = this.pausedUntil;
    this.requestBudget = current(this.requestBudget, now);
    if (this.requestBudget && this.requestBudget.remaining < 1) {
      until = Math.max(until, this.requestBudget.resetAt);
    }
    this.tokenBudget = current(this.tokenBudget, now);
    // A request bigger than a whole window would wait forever: it goes when the window is full.
    const need = Math.min(Math.max(cost, 1), this.tokenBudget?.full ?? Infinity);
    if (this.tokenBudget && this.tokenBudget.remaining < need) {
      until = Math.max(until, this.tokenBudget.resetAt);
    }
    return until;
  }

  private wakeAt(at: number): void {
    if (this.timer && this.timer.at <= at) return;
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    const handle = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.drain();
      },
      Math.max(0, at - this.clock.now()),
    );
    this.timer = { handle, at };
  }

  private start(waiter: Waiter): void {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.requestBudget) this.requestBudget.remaining -= 1;
    if (this.tokenBudget) this.tokenBudget.remaining -= waiter.cost;
    const sequence = ++this.sequence;
    this.started.set(sequence, waiter.cost);
    let reported = false;
    let released = false;
    waiter.grant({
      report: (signal) => {
        if (reported) return;
        reported = true;
        this.learn(signal, sequence, waiter.cost);
      },
      release: () => {
        if (released) return;
        released = true;
        this.started.delete(sequence);
        this.inFlight -= 1;
        this.drain();
      },
    });
  }

  private learn(signal: RateLimitSignal, sequence: number, cost: number): void {
    const now = this.clock.now();
    // The server counted this request and those before it; the ones started after it may not
    // have reached it yet, so they are still spent from what it says is left.
    let laterRequests = 0;
    let laterTokens = 0;
    for (const [other, otherCost] of this.started) {
      if (other > sequence) {
        laterRequests += 1;
        laterTokens += otherCost;
      }
    }
    const requestsLeft = minus(signal.remainingRequests, laterRequests);
    const tokensLeft = minus(signal.remainingTokens, laterTokens);
    this.requestBudget = announced(
      this.requestBudget,
      requestsLeft,
      signal.resetRequestsMs,
      signal.limitRequests,
      now,
    );
    this.tokenBudget = announced(
      this.tokenBudget,
      tokensLeft,
      signal.resetTokensMs,
      signal.limitTokens,
      now,
    );
    const spent =
      (requestsLeft !== undefined && requestsLeft < 1) ||
      (tokensLeft !== undefined && tokensLeft < Math.max(cost, 1));
    if (spent && sequence > this.cutAfter) this.cut(signal.status === 429);
    if (signal.status === 429) {
      this.rateLimited += 1;
      const wait = signal.retryAfterMs ?? this.exhaustedReset(signal);
      if (wait !== undefined) {
        this.pausedUntil = Math.max(this.pausedUntil, now + wait);
      } else {
        this.decrease();
      }
      return;
    }
    if (!spent && signal.status >= 200 && signal.status < 300 && this.line.length > 0) {
      this.increase();
    }
  }

  /** The reset of a budget a 429 says is spent, if it names one. */
  private exhaustedReset(signal: RateLimitSignal): number | undefined {
    const resets = [
      signal.remainingRequests === 0 ? signal.resetRequestsMs : undefined,
      signal.remainingTokens === 0 ? signal.resetTokensMs : undefined,
    ].filter((value): value is number => value !== undefined);
    return resets.length ? Math.max(...resets) : undefined;
  }

  /** A spent window (step 3): half the limit, not below what is in flight besides a refusal. */
  private cut(refused: boolean): void {
    const carried = this.inFlight - (refused ? 1 : 0);
    this.window = clamp(
      Math.min(this.limit, Math.max(Math.ceil(this.limit / 2), carried)),
      1,
      this.maxConcurrency,
    );
    this.cutAfter = this.sequence;
    this.probing = false;
    this.successes = 0;
  }

  private decrease(): void {
    // This request is still counted in flight: the others are what the provider accepted.
    const others = this.inFlight - 1;
    this.window = clamp(Math.min(this.limit - 1, others), 1, this.maxConcurrency);
    if (this.probing) this.probeRounds = Math.min(MAX_PROBE_ROUNDS, this.probeRounds * 2);
    this.probing = false;
    this.successes = 0;
  }

  private increase(): void {
    if (this.limit >= this.maxConcurrency) return;
    this.successes += 1;
    if (this.successes < this.limit * this.probeRounds) return;
    if (this.probing) this.probeRounds = Math.max(1, this.probeRounds / 2);
    this.probing = true;
    this.successes = 0;
    this.window = Math.min(this.maxConcurrency, this.limit + 1);
    this.drain();
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new Error("Aborted", { cause: signal.reason });
}

function minus(value: number | undefined, spent: number): number | undefined {
  return value === undefined ? undefined : value - spent;
}

function clamp(value: number, low: number, high: number): number {
  return Math.max(low, Math.min(high, value));
}
