import {
  DEFAULT_ROLES,
  resolveConfiguration,
  runConfiguration,
} from "../../src/schemas/configuration.js";

/**
 * The nodes read their configuration through runConfiguration, which resolves each set of values
 * once (every task of a step resolves the same values) and shares the result; these pin that
 * nothing stale or changeable comes out of it, and that resolveConfiguration still gives each
 * caller a configuration of its own.
 */
describe("resolving a run's configuration", () => {
  test("the nodes' configuration is resolved once for the same values, and cannot be changed", () => {
    const first = runConfiguration({ configurable: { maxSections: 4, thread_id: "a" } });
    const second = runConfiguration({ configurable: { maxSections: 4, thread_id: "b" } });
    expect(second).toBe(first);
    expect(() => {
      first.maxSections = 99;
    }).toThrow(TypeError);
    expect(() => {
      first.sectionReview.maxRevisions = 99;
    }).toThrow(TypeError);
    expect(runConfiguration({ configurable: { maxSections: 4 } }).maxSections).toBe(4);
  });

  test("a changed value, or an object changed in place, is resolved again", () => {
    const roles = [{ name: "analyst", background: "Be precise." }];
    const configurable = { roles, maxConcurrency: 3 };
    const names = () => runConfiguration({ configurable }).roles.map((role) => role.name);
    expect(names()).toEqual(["analyst"]);
    roles.push({ name: "critic", background: "Be fair." });
    expect(names()).toEqual(["analyst", "critic"]);
    expect(
      runConfiguration({ configurable: { ...configurable, maxConcurrency: 5 } }).maxConcurrency,
    ).toBe(5);
  });

  test("invalid values are still refused, after a valid resolution of the same shape", () => {
    runConfiguration({ configurable: { maxSections: 3 } });
    expect(() => runConfiguration({ configurable: { maxSections: -1 } })).toThrow(/maxSections/);
  });

  test("resolveConfiguration gives every caller a configuration of its own to change", () => {
    const first = resolveConfiguration({ configurable: { maxSections: 4 } });
    first.maxSections = 99;
    first.sectionReview.maxRevisions = 7;
    const second = resolveConfiguration({ configurable: { maxSections: 4 } });
    expect(second.maxSections).toBe(4);
    expect(second.sectionReview.maxRevisions).not.toBe(7);
    expect(Object.isFrozen(second)).toBe(false);
    // Freezing the nodes' copy froze the package's defaults once (a review finding).
    runConfiguration({ configurable: { maxSections: 5 } });
    expect(Object.isFrozen(resolveConfiguration({}).roles[0])).toBe(false);
    expect(Object.isFrozen(DEFAULT_ROLES[0])).toBe(false);
  });
});
