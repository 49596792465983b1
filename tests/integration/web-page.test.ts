import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { defaultPlan, startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import {
  CHROMIUM,
  buildPage,
  hasChromium,
  launchChromium,
  serveFiles,
  type FileServer,
} from "../helpers/browser.js";
import { startDevServer, type DevServer } from "../helpers/dev-server.js";
import { headings } from "../helpers/report.js";

// The example page (examples/web) in a real Chromium, against the real dev server and the local
// test model: built with Vite, served as static files from another origin than the dev server's.
const chromiumInstalled = hasChromium();
if (!chromiumInstalled) {
  console.warn(`web-page.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}
const browserTest = chromiumInstalled ? test : test.skip;

/** Keys of the planner's JSON answer, as they would read on the page. */
const PLANNER_JSON = /"(sections|description|dependsOn)"\s*:/g;

/** A script run in the page before its own: records planner JSON whenever the page changes. */
const WATCH_FOR_PLANNER_JSON = `
window.plannerJsonSeen = [];
new MutationObserver(() => {
  const found = (document.body?.textContent ?? "").match(${PLANNER_JSON.toString()});
  if (found && window.plannerJsonSeen.length < 10) window.plannerJsonSeen.push(...found);
}).observe(document, { subtree: true, childList: true, characterData: true });`;

/** How long one step of the page (a plan, the sections, the report) may take on a busy machine. */
const STEP_MS = 60_000;

describe("the example web page (useStream) in Chromium against the dev server", () => {
  let models: OpenAIServer | undefined;
  let devServer: DevServer | undefined;
  let site: FileServer | undefined;
  let browser: Browser | undefined;
  let directory: string | undefined;

  beforeAll(async () => {
    if (!chromiumInstalled) return;
    directory = await mkdtemp(join(tmpdir(), "web-page-"));
    models = await startOpenAIServer({ plan: defaultPlan(3) });
    // Both at once; both settled before either failure is thrown, so afterAll closes the server.
    const starting = startDevServer({
      OPENAI_BASE_URL: models.baseURL,
      OPENAI_API_KEY: "sk-dev",
    }).then((server) => (devServer = server));
    const building = buildPage("examples/web", join(directory, "site"));
    await Promise.allSettled([starting, building]);
    await Promise.all([starting, building]);
    site = await serveFiles(join(directory, "site"));
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await devServer?.close();
    await models?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  /**
   * A fresh browser context on the page, pointed at the dev server; requests to any host but
   * 127.0.0.1 are refused and recorded, and so are the page's uncaught errors.
   */
  async function openPage(): Promise<{
    page: Page;
    context: BrowserContext;
    outside: string[];
    errors: string[];
  }> {
    const context = await browser!.newContext({ viewport: { width: 1000, height: 800 } });
    const outside: string[] = [];
    await context.route("**/*", async (route) => {
      const url = route.request().url();
      if (new URL(url).hostname === "127.0.0.1") return route.continue();
      outside.push(url);
      return route.abort();
    });
    // From the first render on, anything on the page that looks like the planner's JSON is
    // recorded: streamed tokens can show for a moment and be gone by the end of the run.
    await context.addInitScript({ content: WATCH_FOR_PLANNER_JSON });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${site!.url}/?apiUrl=${encodeURIComponent(devServer!.apiUrl)}`);
    return { page, context, outside, errors };
  }

  /** Waits until every section on the page has text, and returns the sections' ids. */
  async function sectionsWritten(page: Page, count: number): Promise<string[]> {
    const sections = page.getByTestId("section");
    await sections.nth(count - 1).waitFor({ timeout: STEP_MS });
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const section = sections.nth(index);
      await section
        .getByTestId("section-text")
        .filter({ hasText: /\S/ })
        .waitFor({ timeout: STEP_MS });
      ids.push((await section.getAttribute("data-section-id"))!);
    }
    return ids;
  }

  /** The report as the page shows it, once it is there. */
  async function reportShown(page: Page): Promise<string> {
    const report = page.getByTestId("report");
    await report.waitFor({ timeout: STEP_MS });
    return (await report.textContent()) ?? "";
  }

  /** What the page showed, at any moment, that only the planner's structured answer holds. */
  async function plannerJson(page: Page): Promise<string[]> {
    const now = await page.locator("body").innerText();
    const seen = await page.evaluate<string[]>("window.plannerJsonSeen");
    return [...seen, ...(now.match(PLANNER_JSON) ?? [])];
  }

  /** Types a request on the page and sends it, with plan review ticked when `review` is set. */
  async function ask(page: Page, request: string, review = false): Promise<void> {
    await page.getByTestId("request").fill(request);
    if (review) await page.getByTestId("review-plan").check();
    await page.getByTestId("submit").click();
  }

  /** Waits until the run is over: the page takes a new request again. */
  async function runFinished(page: Page): Promise<void> {
    await page.locator('[data-testid="submit"]:enabled').waitFor({ timeout: STEP_MS });
  }

  browserTest(
    "plan review: the page shows the plan and Approve, writes every section after approval, streamed token by token, and shows the report",
    async () => {
      const { page, context, outside, errors } = await openPage();
      try {
        const plansBefore = models!.planRequests().length;
        const sectionsBefore = models!.sectionRequests().length;
        await ask(page, "How tides work", true);

        const approve = page.getByTestId("approve");
        await approve.waitFor({ timeout: STEP_MS });
        expect(await page.getByTestId("plan-section-name").allTextContents()).toEqual([
          "Part 1",
          "Part 2",
          "Part 3",
        ]);
        await expect(page.getByTestId("plan-review").innerText()).resolves.toMatch(/Part 2/);
        // Nothing is written before the plan is approved.
        expect(models!.sectionRequests().length).toBe(sectionsBefore);
        await approve.click();

        const ids = await sectionsWritten(page, 3);
        expect(ids).toEqual(["s1", "s2", "s3"]);
        const report = await reportShown(page);
        expect(headings(report)).toEqual(["Part 1", "Part 2", "Part 3"]);
        // Each section's text reached the page from its writer's tokens (messages-tuple), not
        // only from the state once it was written.
        const texts = await page.getByTestId("section-text").all();
        expect(await Promise.all(texts.map((text) => text.getAttribute("data-streamed")))).toEqual([
          "true",
          "true",
          "true",
        ]);
        await runFinished(page);
        expect(await page.getByTestId("plan-review").count()).toBe(0);
        expect(await plannerJson(page)).toEqual([]);
        expect(models!.planRequests().length).toBe(plansBefore + 1);
        expect(models!.sectionRequests().length).toBe(sectionsBefore + 3);
        expect({ outside, errors }).toEqual({ outside: [], errors: [] });

        const screenshot = process.env.WEB_SCREENSHOT ?? join(tmpdir(), "web-page.png");
        await page.screenshot({ path: screenshot, fullPage: true });
        console.log(`web-page.test.ts: screenshot of the finished page at ${screenshot}`);
      } finally {
        await context.close();
      }
    },
    4 * STEP_MS,
  );

  browserTest(
    "plan review: a plan sent back with feedback is planned again, and an edited plan is written as edited",
    async () => {
      const { page, context, outside, errors } = await openPage();
      try {
        const plansBefore = models!.planRequests().length;
        const sectionsBefore = models!.sectionRequests().length;
        await ask(page, "How tides work", true);

        const sendBack = page.getByTestId("send-back");
        await sendBack.filter({ hasText: "3 left" }).waitFor({ timeout: STEP_MS });
        await page.getByTestId("feedback").fill("Put the Moon in the middle.");
        await sendBack.click();
        await sendBack.filter({ hasText: "2 left" }).waitFor({ timeout: STEP_MS });
        expect(models!.planRequests().length).toBe(plansBefore + 2);
        expect(models!.planRequests().at(-1)!.prompt).toContain("Put the Moon in the middle.");

        await page.getByTestId("edit").click();
        await page.getByTestId("edit-name").nth(1).fill("Tides and the Moon");
        await page.getByTestId("edit-description").nth(1).fill("How the Moon pulls the sea.");
        await page.getByTestId("save-edit").click();

        await sectionsWritten(page, 3);
        expect(await page.getByTestId("plan-section-name").allTextContents()).toEqual([
          "Part 1",
          "Tides and the Moon",
          "Part 3",
        ]);
        expect(headings(await reportShown(page))).toEqual([
          "Part 1",
          "Tides and the Moon",
          "Part 3",
        ]);
        await runFinished(page);
        expect(models!.planRequests().length).toBe(plansBefore + 2);
        expect(models!.sectionRequests().length).toBe(sectionsBefore + 3);
        expect(await plannerJson(page)).toEqual([]);
        expect({ outside, errors }).toEqual({ outside: [], errors: [] });
      } finally {
        await context.close();
      }
    },
    4 * STEP_MS,
  );

  browserTest(
    "without plan review: the page writes every planned section and shows the report; a second request on the thread gets a report of its own",
    async () => {
      const { page, context, outside, errors } = await openPage();
      try {
        const plansBefore = models!.planRequests().length;
        await ask(page, "Why the sky is blue");

        const ids = await sectionsWritten(page, 3);
        expect(ids).toEqual(["s1", "s2", "s3"]);
        const first = await reportShown(page);
        expect(first).toMatch(/^# Why the sky is blue$/m);
        expect(headings(first)).toEqual(["Part 1", "Part 2", "Part 3"]);
        expect(await page.getByTestId("plan-review").count()).toBe(0);
        await runFinished(page);

        // A follow-up: a new human message on the same thread is a new request, planned afresh.
        await ask(page, "How rainbows form");
        await page
          .getByTestId("report")
          .filter({ hasText: "# How rainbows form" })
          .waitFor({ timeout: 2 * STEP_MS });
        await sectionsWritten(page, 3);
        await runFinished(page);
        const second = await reportShown(page);
        expect(second).not.toMatch(/Why the sky is blue/);
        expect(headings(second)).toEqual(["Part 1", "Part 2", "Part 3"]);
        expect(models!.planRequests().length).toBe(plansBefore + 2);
        expect(await plannerJson(page)).toEqual([]);
        expect({ outside, errors }).toEqual({ outside: [], errors: [] });
      } finally {
        await context.close();
      }
    },
    5 * STEP_MS,
  );
});
