import type { Linter } from "eslint";

/** The layering rule's ESLint configs (see eslint.layers.js). */
declare const layers: Linter.Config[];
export default layers;
