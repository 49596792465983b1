/** The `## ` section headings of a Markdown report, in order. */
export function headings(report: string): string[] {
  return [...report.matchAll(/^## (.*)$/gm)].map((match) => match[1]!);
}
