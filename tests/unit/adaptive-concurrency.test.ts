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
  test("maxConcurrency 100 and a server that sends no headers: 100 permits at once, before any is released", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 100, clock });
    const granted = line(limiter, 130);
    await settle();
    expect(granted).toHaveLength(100);
    expect(limiter.stats()).toMatchObject({ limit: 100, inFlight: 100, waiting: 30 });
    // Plain successes neither lower it nor raise it past the bound.
    for (const permit of granted.splice(0)) {
      permit.report({ status: 200 });
      permit.release();
    }
    await settle();
    expect(granted).toHaveLength(30);
    expect(limiter.stats()).toMatchObject({ limit: 100, maxInFlight: 100 });
    expect(new AdaptiveConcurrencyLimiter({ maxConcurrency: 3 }).limit).toBe(3);
  });

  test("headers with room left, and slow answers, leave the limit at maxConcurrency", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 50, clock });
    const granted = line(limiter, 60);
    await settle();
    expect(granted).toHaveLength(50);
    clock.time = 60_000;
    granted[0]!.report({
      status: 200,
      remainingRequests: 4000,
      resetRequestsMs: 60_000,
      remainingTokens: 2_000_000,
      resetTokensMs: 60_000,
    });
    granted[0]!.release();
    await settle();
    expect(limiter.limit).toBe(50);
    expect(limiter.stats().inFlight).toBe(50);
  });

  test("after a 429 the limit drops, then climbs back to maxConcurrency as requests succeed, never above", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 12, clock });
    const granted = line(limiter, 200);
    await settle();
    expect(granted).toHaveLength(12);
    // The provider refuses 4 of the first 12 at once.
    for (const permit of granted.splice(8, 4)) {
      permit.report({ status: 429 });
      permit.release();
    }
    await settle();
    expect(limiter.limit).toBe(8);
    expect(limiter.stats().inFlight).toBe(8);
    const limits: number[] = [];
    let mostInFlight = 0;
    for (let round = 0; round < 30 && limiter.stats().waiting > 0; round += 1) {
      for (const permit of granted.splice(0)) {
        permit.report({ status: 200 });
        permit.release();
      }
      await settle();
      limits.push(limiter.limit);
      mostInFlight = Math.max(mostInFlight, limiter.stats().inFlight);
    }
    // One more place per round of successes: 9, 10, 11, 12, and no further.
    expect(limits.slice(0, 5)).toEqual([9, 10, 11, 12, 12]);
    expect(Math.max(...limits)).toBe(12);
    expect(mostInFlight).toBe(12);
    expect(limiter.stats().maxInFlight).toBe(12);
  });

  test("it does not climb while nothing waits", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 10, clock });
    const granted = line(limiter, 10);
    await settle();
    for (const permit of granted.splice(5)) {
      permit.report({ status: 429 });
      permit.release();
    }
    expect(limiter.limit).toBe(5);
    for (const permit of granted.splice(0)) {
      permit.report({ status: 200 });
      permit.release();
    }
    for (let round = 0; round < 20; round += 1) {
      const permit = await limiter.acquire();
      permit.report({ status: 200 });
      permit.release();
    }
    expect(limiter.limit).toBe(5);
  });

  test("a spent window with the whole bound in flight keeps it: the cut is not below what is in flight, and once per round trip", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 40, clock });
    const granted = line(limiter, 100);
    await settle();
    expect(granted).toHaveLength(40);
    // The window had room for 40 and all 40 are in flight: the first answer says 0 are left.
    granted[0]!.report({ status: 200, remainingRequests: 0, resetRequestsMs: 1000 });
    expect(limiter.limit).toBe(40);
    granted[0]!.release();
    // 39 in flight and 20 the halved limit: 39. The next answers, to requests sent before the
    // cut, say the same and cut nothing more.
    for (const permit of granted.slice(1, 30)) {
      permit.report({ status: 200, remainingRequests: 0, resetRequestsMs: 1000 });
      permit.release();
    }
    await settle();
    expect(limiter.limit).toBe(40);
    for (const permit of granted.slice(30, 40)) {
      permit.report({ status: 200 });
      permit.release();
    }
    // The window refilled with no known size: the next round goes at the limit ...
    clock.step();
    await settle();
    expect(clock.time).toBe(1000);
    expect(granted).toHaveLength(80);
    // ... and its first answer, with the window spent and 40 in flight, does not cut below them.
    const round = granted.slice(40);
    round[0]!.report({ status: 200, remainingRequests: 0, resetRequestsMs: 1000 });
    expect(limiter.limit).toBe(40);
  });

  test("remaining-requests 0 with few in flight halves the limit, and successes raise it back", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 8, clock });
    const first = await limiter.acquire();
    first.report({ status: 200, remainingRequests: 0, resetRequestsMs: 500 });
    first.release();
    expect(limiter.limit).toBe(4);
    const granted = line(limiter, 40);
    await settle();
    expect(granted).toHaveLength(0);
    clock.step();
    await settle();
    expect(clock.time).toBe(500);
    expect(granted).toHaveLength(4);
    for (let round = 0; round < 10 && limiter.stats().waiting > 0; round += 1) {
      for (const permit of granted.splice(0)) {
        permit.report({ status: 200, remainingRequests: 100, resetRequestsMs: 60_000 });
        permit.release();
      }
      await settle();
    }
    expect(limiter.limit).toBe(8);
  });

  test("a token budget that cannot pay for another request like this one lowers the limit", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 20, clock });
    const granted: Permit[] = [];
    for (let index = 0; index < 20; index += 1) {
      void limiter.acquire({ cost: 100 }).then((permit) => granted.push(permit));
    }
    await settle();
    expect(granted).toHaveLength(20);
    // 19 sent after it, 1,900 tokens: 1,950 left leaves 50, less than one request's 100.
    granted[0]!.report({ status: 200, remainingTokens: 1950, resetTokensMs: 1000 });
    expect(limiter.limit).toBe(20);
    granted[0]!.release();
    const limiterWithRoom = new AdaptiveConcurrencyLimiter({ maxConcurrency: 20, clock });
    const permit = await limiterWithRoom.acquire({ cost: 100 });
    permit.report({ status: 200, remainingTokens: 150, resetTokensMs: 1000 });
    expect(limiterWithRoom.limit).toBe(20);
    const second = await limiterWithRoom.acquire({ cost: 100 });
    second.report({ status: 200, remainingTokens: 50, resetTokensMs: 1000 });
    expect(limiterWithRoom.limit).toBe(10);
  });

  test("a burst of header-less 429s settles on what the provider accepted", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: 20, clock });
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

  test("against a provider that takes 10 at once, 100 requests with maxConcurrency 50: all done, one burst of 429s, never over 50", async () => {
    const result = await simulate({ n: 100, capacity: 10, max: 50 });
    expect(result.mostAtProvider).toBe(10);
    expect(result.mostAllowed).toBe(50);
    // The first round trip at 50 (40 refused) and a few steps above 10.
    expect(result.refused).toBeGreaterThanOrEqual(40);
    expect(result.refused).toBeLessThanOrEqual(45);
    // Ten at a time from the first answers on: ten rounds of 200 ms, and one for a retried step.
    expect(result.elapsedMs).toBeLessThanOrEqual(2200);
  });

  test("slow answers: the whole bound is in flight from the first round trip", async () => {
    // A local model server taking 10 s an answer and as many requests as it is sent: 64 at once,
    // two rounds for 100 requests.
    const result = await simulate({ n: 100, capacity: 1000, max: 64, latencyMs: 10_000 });
    expect(result.refused).toBe(0);
    expect(result.mostAllowed).toBe(64);
    expect(result.mostAtProvider).toBe(64);
    expect(result.elapsedMs).toBe(20_000);
  });

  test("with slow answers, a provider that takes 10 at once costs one burst of 429s and few more", async () => {
    const result = await simulate({ n: 100, capacity: 10, max: 50, latencyMs: 10_000 });
    expect(result.mostAtProvider).toBe(10);
    expect(result.mostAllowed).toBeLessThanOrEqual(50);
    expect(result.refused).toBeLessThanOrEqual(45);
    // Ten rounds of 10 s, and one for a retried step at most.
    expect(result.elapsedMs).toBeLessThanOrEqual(110_000);
  });

  test("a limit that was refused is probed less and less often", async () => {
    const result = await simulate({ n: 2000, capacity: 10, max: 50 });
    // 200 rounds at 10: one probe per round would be ~200 429s on top of the first burst of 40;
    // doubling waits keep the probes near 1 in 16 rounds.
    expect(result.refused).toBeLessThanOrEqual(60);
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

  test("a 429 whose headers say the budget is spent pauses until its reset and halves the limit", async () => {
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
    expect(limiter.limit).toBe(2);
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
