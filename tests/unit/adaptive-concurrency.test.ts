import {
  AdaptiveConcurrencyLimiter,
  parseDuration,
  readRateLimitHeaders,
  type LimiterClock,
  type Permit,
} from "../../src/models/adaptive-concurrency.js";

/** A clock that moves only when told to; timers run in time order. */
class FakeClock implements LimiterClock {
  time = 0;
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private nextId = 0;
  now = () => this.time;
  setTimeout = (callback: () => void, ms: number) => {
    const id = ++this.nextId;
    this.timers.push({ at: this.time + ms, callback, id });
    return id;
  };
  clearTimeout = (handle: unknown) => {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  };
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
  /** Runs the earliest timer (moving the time to it); false when none is left. */
  step(): boolean {
    this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
    const next = this.timers.shift();
    if (!next) return false;
    this.time = Math.max(this.time, next.at);
    next.callback();
    return true;
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Acquires `count` places without waiting for them; returns the granted permits as they come. */
function line(limiter: AdaptiveConcurrencyLimiter, count: number) {
  const granted: Permit[] = [];
  for (let index = 0; index < count; index += 1) {
    void limiter.acquire().then((permit) => granted.push(permit));
  }
  return granted;
}

/**
 * `n` requests through the limiter against a simulated provider that accepts `capacity` at once
 * (answering 429 at once beyond, without headers) and answers the others after `latencyMs`; a
 * refused request goes back to the front of the line, as the model fetch sends it.
 */
async function simulate(options: { n: number; capacity: number; max: number; latencyMs?: number }) {
  const clock = new FakeClock();
  const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: options.max, clock });
  const latency = options.latencyMs ?? 200;
  let atProvider = 0;
  let mostAtProvider = 0;
  let refused = 0;
  let done = 0;
  let mostAllowed = 0;
  const one = async () => {
    for (let attempt = 0; ; attempt += 1) {
      const permit = await limiter.acquire({ front: attempt > 0 });
      mostAllowed = Math.max(mostAllowed, limiter.stats().inFlight);
      if (atProvider >= options.capacity) {
        refused += 1;
        permit.report({ status: 429 });
        permit.release();
        continue;
      }
      atProvider += 1;
      mostAtProvider = Math.max(mostAtProvider, atProvider);
      await clock.sleep(latency);
      atProvider -= 1;
      permit.report({ status: 200 });
      permit.release();
      done += 1;
      return;
    }
  };
  const all = Promise.all(Array.from({ length: options.n }, one));
  await settle();
  while (done < options.n) {
    if (!clock.step()) throw new Error(`stuck with ${done} of ${options.n} done`);
    await settle();
  }
  await all;
  return { refused, mostAtProvider, mostAllowed, elapsedMs: clock.time, limiter };
}

describe("AdaptiveConcurrencyLimiter", () => {
  test("starts at min(maxConcurrency, 10) and, before any 429, grows by one per success while requests wait", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 50, clock });
    const granted = line(limiter, 60);
    await settle();
    expect(granted).toHaveLength(10);
    for (const permit of granted.splice(0)) {
      permit.report({ status: 200 });
      permit.release();
    }
    await settle();
    expect(limiter.limit).toBe(20);
    expect(granted).toHaveLength(20);
    expect(new AdaptiveConcurrencyLimiter({ maxConcurrency: 3 }).limit).toBe(3);
  });

  test("a provider whose headers leave room for the whole bound gets it after one answer, not after the ramp", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 50, clock });
    const granted = line(limiter, 60);
    await settle();
    expect(granted).toHaveLength(10);
    // OpenAI-like headers: 4,999 requests and 2M tokens left in this minute.
    granted[0]!.report({
      status: 200,
      remainingRequests: 4999,
      resetRequestsMs: 60_000,
      remainingTokens: 2_000_000,
      resetTokensMs: 60_000,
    });
    await settle();
    expect(limiter.limit).toBe(50);
    expect(granted).toHaveLength(50);
  });

  test("headers that leave less room than the bound keep the ramp", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 50, clock });
    const granted = line(limiter, 60);
    await settle();
    granted[0]!.report({ status: 200, remainingRequests: 30, resetRequestsMs: 60_000 });
    await settle();
    expect(limiter.limit).toBe(11);
  });

  test("never has more than maxConcurrency in flight, and does not grow without requests waiting", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({
      maxConcurrency: 12,
      initialConcurrency: 10,
      clock,
    });
    const granted = line(limiter, 11);
    await settle();
    expect(granted).toHaveLength(10);
    // One success while one waits: 11. Then nothing waits: the limit stays.
    granted[0]!.report({ status: 200 });
    await settle();
    expect(limiter.limit).toBe(11);
    expect(granted).toHaveLength(11);
    for (const permit of granted.slice(1)) permit.report({ status: 200 });
    expect(limiter.limit).toBe(11);
    const more = line(limiter, 20);
    for (const permit of granted) permit.release();
    await settle();
    for (let round = 0; round < 5; round += 1) {
      for (const permit of more.splice(0)) {
        permit.report({ status: 200 });
        permit.release();
      }
      await settle();
    }
    expect(limiter.stats().maxInFlight).toBe(12);
    expect(limiter.limit).toBe(12);
  });

  test("a burst of header-less 429s settles on what the provider accepted", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({
      maxConcurrency: 50,
      initialConcurrency: 20,
      clock,
    });
    const granted = line(limiter, 30);
    await settle();
    expect(granted).toHaveLength(20);
    // The provider takes 8 and refuses the other 12 at once.
    for (const permit of granted.slice(8)) {
      permit.report({ status: 429 });
      permit.release();
    }
    await settle();
    expect(limiter.limit).toBe(8);
    expect(limiter.stats()).toMatchObject({ inFlight: 8, rateLimited: 12 });
  });

  test("against a provider that takes 10 at once, 100 requests with maxConcurrency 50: all done, few 429s, never over 50", async () => {
    const result = await simulate({ n: 100, capacity: 10, max: 50 });
    expect(result.mostAtProvider).toBe(10);
    expect(result.mostAllowed).toBeLessThanOrEqual(50);
    // The slow start's overshoot (10) and a few probes above the limit.
    expect(result.refused).toBeGreaterThan(0);
    expect(result.refused).toBeLessThanOrEqual(15);
    // Ten at a time from the start: ten rounds of 200 ms, and one for the retried ones at most.
    expect(result.elapsedMs).toBeLessThanOrEqual(2200);
  });

  test("slow answers do not slow the ramp: a request still in flight after a second counts as taken", async () => {
    // A local model server taking 10 s an answer and as many requests as it is sent. Counting only
    // answers, the ramp took a round trip per doubling (10, 20, 40, 64: 40 s for 100 requests).
    const result = await simulate({ n: 100, capacity: 1000, max: 64, latencyMs: 10_000 });
    expect(result.refused).toBe(0);
    expect(result.mostAllowed).toBe(64);
    expect(result.elapsedMs).toBeLessThan(25_000);
  });

  test("with slow answers, a provider that takes 10 at once still costs few 429s", async () => {
    const result = await simulate({ n: 100, capacity: 10, max: 50, latencyMs: 10_000 });
    expect(result.mostAtProvider).toBe(10);
    expect(result.mostAllowed).toBeLessThanOrEqual(50);
    expect(result.refused).toBeLessThanOrEqual(20);
    // Ten rounds of 10 s, and one for the retried ones at most.
    expect(result.elapsedMs).toBeLessThanOrEqual(110_000);
  });

  test("a limit that was refused is probed less and less often", async () => {
    const result = await simulate({ n: 2000, capacity: 10, max: 50 });
    // 200 rounds at 10: one probe per round would be ~200 429s; doubling waits keep it near 1 in 16.
    expect(result.refused).toBeLessThanOrEqual(30);
    expect(result.limiter.limit).toBeGreaterThanOrEqual(9);
    expect(result.limiter.limit).toBeLessThanOrEqual(11);
  });

  test("a 429 with retry-after holds every new request until then, without lowering the limit", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 4, clock });
    const granted = line(limiter, 6);
    await settle();
    expect(granted).toHaveLength(4);
    granted[0]!.report({ status: 429, retryAfterMs: 1500 });
    granted[0]!.release();
    granted[1]!.report({ status: 200 });
    granted[1]!.release();
    await settle();
    expect(granted).toHaveLength(4);
    clock.time = 1499;
    await settle();
    expect(granted).toHaveLength(4);
    clock.step();
    await settle();
    expect(clock.time).toBe(1500);
    expect(granted).toHaveLength(6);
    expect(limiter.limit).toBe(4);
  });

  test("remaining-requests 0 makes the next request wait for the reset instead of being refused", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 4, clock });
    const first = await limiter.acquire();
    first.report({ status: 200, remainingRequests: 1, resetRequestsMs: 800 });
    first.release();
    const second = await limiter.acquire();
    let third: Permit | undefined;
    void limiter.acquire().then((permit) => (third = permit));
    await settle();
    expect(third).toBeUndefined();
    second.release();
    clock.step();
    await settle();
    expect(clock.time).toBe(800);
    expect(third).toBeDefined();
  });

  test("a token budget: a request whose estimated tokens do not fit waits for the reset", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 4, clock });
    const first = await limiter.acquire({ cost: 100 });
    first.report({ status: 200, remainingTokens: 250, resetTokensMs: 2000 });
    first.release();
    await limiter.acquire({ cost: 200 }); // fits: 50 left
    let later: Permit | undefined;
    void limiter.acquire({ cost: 200 }).then((permit) => (later = permit));
    await settle();
    expect(later).toBeUndefined();
    clock.step();
    await settle();
    expect(clock.time).toBe(2000);
    expect(later).toBeDefined();
  });

  test("a 429 whose headers say the budget is spent pauses until its reset", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 4, clock });
    const permit = await limiter.acquire();
    permit.report({ status: 429, remainingTokens: 0, resetTokensMs: 700 });
    permit.release();
    let next: Permit | undefined;
    void limiter.acquire().then((granted) => (next = granted));
    await settle();
    expect(next).toBeUndefined();
    clock.step();
    await settle();
    expect(clock.time).toBe(700);
    expect(next).toBeDefined();
    expect(limiter.limit).toBe(4);
  });

  test("a waiting request whose signal aborts leaves the line with the signal's reason", async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 1, clock: new FakeClock() });
    const holder = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire({ signal: controller.signal });
    let afterIt: Permit | undefined;
    void limiter.acquire().then((permit) => (afterIt = permit));
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    holder.release();
    await settle();
    expect(afterIt).toBeDefined();
    expect(limiter.stats()).toMatchObject({ inFlight: 1, waiting: 0 });
  });

  test("a request sent again goes to the front of the line", async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 1, clock: new FakeClock() });
    const holder = await limiter.acquire();
    const order: string[] = [];
    void limiter.acquire().then((permit) => {
      order.push("queued");
      permit.release();
    });
    void limiter.acquire({ front: true }).then((permit) => {
      order.push("retried");
      permit.release();
    });
    holder.release();
    await settle();
    expect(order).toEqual(["retried", "queued"]);
  });
});

describe("rate-limit headers", () => {
  test("OpenAI's durations and retry-after forms", () => {
    expect(parseDuration("1s")).toBe(1000);
    expect(parseDuration("6m0s")).toBe(360_000);
    expect(parseDuration("1h2m3.5s")).toBe(3_723_500);
    expect(parseDuration("120ms")).toBe(120);
    expect(parseDuration("0.5")).toBe(500);
    expect(parseDuration("soon")).toBeUndefined();
    const now = Date.parse("2026-01-01T00:00:00Z");
    const headers = new Headers({
      "retry-after": "Thu, 01 Jan 2026 00:00:03 GMT",
      "x-ratelimit-remaining-requests": "7",
      "x-ratelimit-remaining-tokens": "1200",
      "x-ratelimit-reset-requests": "2.5s",
      "x-ratelimit-reset-tokens": "40ms",
    });
    expect(readRateLimitHeaders(429, headers, now)).toEqual({
      status: 429,
      retryAfterMs: 3000,
      remainingRequests: 7,
      remainingTokens: 1200,
      resetRequestsMs: 2500,
      resetTokensMs: 40,
    });
    expect(
      readRateLimitHeaders(429, new Headers({ "retry-after-ms": "250", "retry-after": "1" })),
    ).toEqual({ status: 429, retryAfterMs: 250 });
  });
});
