import { resolveConfiguration } from "../../src/schemas/configuration.js";

/**
 * resolveConfiguration reuses its last result when the fields it reads are the same (every task
 * of a step resolves the same values); these pin that nothing stale or shared comes out of it.
 */
describe("resolving a run's configuration", () => {
  test("the same values give equal, separate results: changing one does not change the next", () => {
    const configurable = { maxSections: 4, thread_id: "a" };
    const results = ["a", "b", "c"].map((thread_id) => {
      const result = resolveConfiguration({ configurable: { ...configurable, thread_id } });
      const maxSections = result.maxSections;
      result.maxSections = 99;
      return maxSections;
    });
    expect(results).toEqual([4, 4, 4]);
  });

  test("a changed value, or an object changed in place, is resolved again", () => {
    const roles = [{ name: "analyst", background: "Be precise." }];
    const configurable = { roles, maxConcurrency: 3 };
    expect(resolveConfiguration({ configurable }).roles.map((role) => role.name)).toEqual([
      "analyst",
    ]);
    roles.push({ name: "critic", background: "Be fair." });
    expect(resolveConfiguration({ configurable }).roles.map((role) => role.name)).toEqual([
      "analyst",
      "critic",
    ]);
    expect(
      resolveConfiguration({ configurable: { ...configurable, maxConcurrency: 5 } }).maxConcurrency,
    ).toBe(5);
  });

  test("invalid values are still refused, after a valid resolution of the same shape", () => {
    resolveConfiguration({ configurable: { maxSections: 3 } });
    expect(() => resolveConfiguration({ configurable: { maxSections: -1 } })).toThrow(
      /maxSections/,
    );
  });
});
